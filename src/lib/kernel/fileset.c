/* The compiled-file set shared by the static, build-directory and debuginfo methods. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fileset.h"
#include "macro.h"
#include "banned.h"

struct kernel_fileset {
	struct kernel_file *f;
	size_t n, alloc;
	char *method;
	bool sorted;
	struct kernel_fileset_stats stats;
};

int kernel_fileset_new(const char *method, struct kernel_fileset **ret)
{
	struct kernel_fileset *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return -ENOMEM;
	fs->method = strdup(method);
	if (!fs->method) {
		free(fs);
		return -ENOMEM;
	}
	fs->sorted = true;
	*ret = fs;
	return 0;
}

void kernel_fileset_free(struct kernel_fileset *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->f[i].path);
		free(fs->f[i].how);
	}
	free(fs->f);
	free(fs->method);
	free(fs);
}

int kernel_fileset_add(struct kernel_fileset *fs, const char *path, unsigned kind, bool generated,
		       const char *how)
{
	struct kernel_file *f;

	if (fs->n == fs->alloc) {
		size_t na = fs->alloc ? fs->alloc * 2 : 1024;
		struct kernel_file *nf = realloc(fs->f, na * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		fs->f = nf;
		fs->alloc = na;
	}
	f = &fs->f[fs->n];
	f->path = strdup(path);
	f->how = strdup(strempty(how));
	if (!f->path || !f->how) {
		free(f->path);
		free(f->how);
		return -ENOMEM;
	}
	f->kind = kind;
	f->generated = generated;
	fs->n++;
	fs->sorted = false;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	const struct kernel_file *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	/* builtin before module, so a merged entry keeps the builtin reason */
	return (int)(y->kind & KERNEL_FILE_BUILTIN) - (int)(x->kind & KERNEL_FILE_BUILTIN);
}

int kernel_fileset_finish(struct kernel_fileset *fs)
{
	size_t o = 0;

	if (fs->sorted || fs->n == 0) {
		fs->sorted = true;
		return 0;
	}
	qsort(fs->f, fs->n, sizeof(*fs->f), cmp_file);
	for (size_t i = 0; i < fs->n; i++) {
		if (o > 0 && streq(fs->f[o - 1].path, fs->f[i].path)) {
			fs->f[o - 1].kind |= fs->f[i].kind;
			fs->f[o - 1].generated &= fs->f[i].generated;
			free(fs->f[i].path);
			free(fs->f[i].how);
			continue;
		}
		fs->f[o++] = fs->f[i];
	}
	fs->n = o;
	fs->sorted = true;
	return 0;
}

size_t kernel_fileset_size(const struct kernel_fileset *fs)
{
	return fs ? fs->n : 0;
}

const struct kernel_file *kernel_fileset_get(const struct kernel_fileset *fs, size_t i)
{
	return fs && i < fs->n ? &fs->f[i] : NULL;
}

static int cmp_path_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct kernel_file *)elem)->path);
}

const struct kernel_file *kernel_fileset_find(const struct kernel_fileset *fs, const char *path)
{
	if (!fs || !fs->sorted || fs->n == 0)
		return NULL;
	return bsearch(path, fs->f, fs->n, sizeof(*fs->f), cmp_path_key);
}

const char *kernel_fileset_method(const struct kernel_fileset *fs)
{
	return fs->method;
}

const struct kernel_fileset_stats *kernel_fileset_stats(const struct kernel_fileset *fs)
{
	return &fs->stats;
}

struct kernel_fileset_stats *kernel_fileset_stats_mut(struct kernel_fileset *fs)
{
	return &fs->stats;
}

const char *kernel_file_kind_str(unsigned kind)
{
	switch (kind & (KERNEL_FILE_BUILTIN | KERNEL_FILE_MODULE)) {
	case KERNEL_FILE_BUILTIN:
		return "builtin";
	case KERNEL_FILE_MODULE:
		return "module";
	case KERNEL_FILE_BUILTIN | KERNEL_FILE_MODULE:
		return "builtin+module";
	default:
		return "none";
	}
}

json_t *kernel_fileset_to_json(const struct kernel_fileset *fs)
{
	json_t *root = json_object(), *files = json_array();

	if (!root || !files)
		goto fail;
	if (json_object_set_new(root, "method", json_string(fs->method)) < 0 ||
	    json_object_set_new(root, "file_count", json_integer((json_int_t)fs->n)) < 0 ||
	    json_object_set_new(root, "warning_count", json_integer(fs->stats.warnings)) < 0)
		goto fail;
	for (size_t i = 0; i < fs->n; i++) {
		const struct kernel_file *f = &fs->f[i];
		json_t *o = json_pack("{s:s, s:s, s:b, s:s}", "path", f->path, "kind",
				      kernel_file_kind_str(f->kind), "generated", f->generated,
				      "how", f->how);

		if (!o || json_array_append_new(files, o) < 0)
			goto fail;
	}
	if (json_object_set_new(root, "files", files) < 0) {
		files = NULL;
		goto fail;
	}
	return root;
fail:
	json_decref(files);
	json_decref(root);
	return NULL;
}

bool kernel_path_has_suffix(const char *path, const char *const *suffixes)
{
	size_t pl = strlen(path);

	if (!suffixes)
		return true;
	for (const char *const *s = suffixes; *s; s++) {
		size_t sl = strlen(*s);

		if (pl >= sl && streq(path + pl - sl, *s))
			return true;
	}
	return false;
}

void kernel_fileset_compare(const struct kernel_fileset *got, const struct kernel_fileset *want,
			    const char *const *suffixes, struct kernel_fileset_diff *ret)
{
	struct kernel_fileset_diff d = {};

	for (size_t i = 0; i < got->n; i++) {
		if (!kernel_path_has_suffix(got->f[i].path, suffixes))
			continue;
		const struct kernel_file *w = kernel_fileset_find(want, got->f[i].path);

		d.got++;
		if (w) {
			d.common++;
			if (w->kind == got->f[i].kind)
				d.same_kind++;
		}
	}
	for (size_t i = 0; i < want->n; i++)
		if (kernel_path_has_suffix(want->f[i].path, suffixes))
			d.want++;
	d.precision = d.got ? (double)d.common / (double)d.got : 1.0;
	d.recall = d.want ? (double)d.common / (double)d.want : 1.0;
	*ret = d;
}

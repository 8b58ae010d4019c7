/* The running kernel: identity from /proc and /sys, livepatch sysfs, pstore records. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kernel.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "banned.h"

#define SMALL_MAX (64u << 10)
#define NOTES_MAX (64u << 10)
#define PSTORE_MAX (4u << 20)
#define PSTORE_FILES_MAX 256

static int read_under(const char *sysroot, const char *path, size_t max, char **ret)
{
	_cleanup_free_ char *p = strdup_printf("%s%s", sysroot, path);

	if (!p)
		return -ENOMEM;
	return read_file_capped(p, max, ret, NULL);
}

/* A file's first line, without its newline. */
static int read_line(const char *sysroot, const char *path, char **ret)
{
	char *buf = NULL;
	int r = read_under(sysroot, path, SMALL_MAX, &buf);

	if (r < 0)
		return r;
	buf[strcspn(buf, "\n")] = '\0';
	*ret = buf;
	return 0;
}

void agent_kernel_release(struct agent_kernel *k)
{
	if (!k)
		return;
	free(k->release);
	free(k->version);
	free(k->build_id);
	free(k->boot_id);
	memset(k, 0, sizeof(*k));
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int agent_notes_build_id(const void *buf, size_t len, char **ret_hex)
{
	const unsigned char *p = buf;
	size_t off = 0;

	/* Elf_Nhdr: namesz, descsz, type, then name and desc each padded to 4 bytes. */
	while (len - off >= 12) {
		uint32_t namesz = le32(p + off), descsz = le32(p + off + 4), type = le32(p + off + 8);
		size_t name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		size_t desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
		const unsigned char *name = p + off + 12;

		if (name_pad > len - off - 12 || desc_pad > len - off - 12 - name_pad)
			return -EBADMSG;
		if (type == 3 && namesz == 4 && memcmp(name, "GNU", 4) == 0 && descsz > 0 &&
		    descsz <= 64) {
			char *hex = malloc((size_t)descsz * 2 + 1);

			if (!hex)
				return -ENOMEM;
			for (uint32_t i = 0; i < descsz; i++) {
				static const char digits[] = "0123456789abcdef";

				hex[2 * i] = digits[name[name_pad + i] >> 4];
				hex[2 * i + 1] = digits[name[name_pad + i] & 15];
			}
			hex[2 * descsz] = '\0';
			*ret_hex = hex;
			return 0;
		}
		off += 12 + name_pad + desc_pad;
	}
	return -ENOENT;
}

static time_t read_btime(const char *sysroot)
{
	_cleanup_free_ char *stat = NULL;
	const char *p;

	if (read_under(sysroot, "/proc/stat", SMALL_MAX, &stat) < 0)
		return 0;
	p = strstr(stat, "\nbtime ");
	return p ? (time_t)strtoll(p + 7, NULL, 10) : 0;
}

int agent_kernel_identify(const char *sysroot, struct agent_kernel *ret)
{
	struct agent_kernel k = {};
	_cleanup_free_ char *notes_path = NULL, *notes = NULL;
	size_t notes_len;
	int r;

	r = read_line(sysroot, "/proc/sys/kernel/osrelease", &k.release);
	if (r < 0) {
		log_error("cannot read '%s/proc/sys/kernel/osrelease': %s", sysroot, strerror(-r));
		goto fail;
	}
	r = read_line(sysroot, "/proc/sys/kernel/random/boot_id", &k.boot_id);
	if (r < 0) {
		log_error("cannot read '%s/proc/sys/kernel/random/boot_id': %s", sysroot,
			  strerror(-r));
		goto fail;
	}
	if (read_line(sysroot, "/proc/version", &k.version) < 0)
		k.version = NULL;
	notes_path = strdup_printf("%s/sys/kernel/notes", sysroot);
	if (!notes_path) {
		r = -ENOMEM;
		goto fail;
	}
	if (read_file_capped(notes_path, NOTES_MAX, &notes, &notes_len) == 0 &&
	    agent_notes_build_id(notes, notes_len, &k.build_id) < 0)
		k.build_id = NULL;
	k.boot_time = read_btime(sysroot);
	*ret = k;
	return 0;
fail:
	agent_kernel_release(&k);
	return r;
}

void agent_klp_release(struct agent_klp *k)
{
	if (!k)
		return;
	json_decref(k->functions);
	k->functions = NULL;
}

static int read_bool(const char *dir, const char *file, bool *ret)
{
	_cleanup_free_ char *p = path_join(dir, file), *buf = NULL;
	int r;

	if (!p)
		return -ENOMEM;
	/* sysfs gives every attribute a size of a page */
	r = read_file_capped(p, SMALL_MAX, &buf, NULL);
	if (r < 0)
		return r;
	*ret = buf[0] == '1';
	return 0;
}

static int cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static int sort_strings(json_t *arr)
{
	size_t n = json_array_size(arr);
	_cleanup_free_ json_t **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_json_str);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	return 0;
}

/* Each OBJECT/FUNC,SYMPOS directory of a livepatch: the function names it replaces. */
static int klp_functions(const char *dir, json_t *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return negative_errno();
	while ((de = readdir(d))) {
		_cleanup_free_ char *obj = NULL;
		DIR *od;
		struct dirent *fe;

		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		obj = path_join(dir, de->d_name);
		od = obj ? opendir(obj) : NULL;
		if (!od)
			continue;
		while ((fe = readdir(od))) {
			const char *comma = strchr(fe->d_name, ',');

			if (fe->d_name[0] == '.' || fe->d_type != DT_DIR || !comma)
				continue;
			json_array_append_new(out, json_stringn(fe->d_name,
								(size_t)(comma - fe->d_name)));
		}
		closedir(od);
	}
	closedir(d);
	return sort_strings(out);
}

int agent_klp_read(const char *sysroot, const char *name, struct agent_klp *ret)
{
	_cleanup_free_ char *dir = strdup_printf("%s/sys/kernel/livepatch/%s", sysroot, name);
	struct agent_klp k = {};
	int r;

	if (!dir)
		return -ENOMEM;
	if (strchr(name, '/') || name[0] == '.')
		return -EINVAL;
	r = read_bool(dir, "enabled", &k.enabled);
	if (r < 0)
		return r;
	if (read_bool(dir, "transition", &k.transition) < 0)
		k.transition = false;
	k.functions = json_array();
	if (!k.functions)
		return -ENOMEM;
	klp_functions(dir, k.functions);
	*ret = k;
	return 0;
}

int agent_klp_list(const char *sysroot, json_t **ret)
{
	_cleanup_free_ char *dir = strdup_printf("%s/sys/kernel/livepatch", sysroot);
	json_t *out = json_array();
	struct dirent *de;
	DIR *d;

	if (!dir || !out) {
		json_decref(out);
		return -ENOMEM;
	}
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				json_array_append_new(out, json_string(de->d_name));
		closedir(d);
	}
	sort_strings(out);
	*ret = out;
	return 0;
}

int agent_klp_write(const char *sysroot, const char *name, const char *file, const char *value)
{
	_cleanup_free_ char *p = strdup_printf("%s/sys/kernel/livepatch/%s/%s", sysroot, name, file);
	_cleanup_fclose_ FILE *f = NULL;

	if (!p)
		return -ENOMEM;
	f = fopen(p, "we");
	if (!f)
		return negative_errno();
	if (fputs(value, f) < 0 || fflush(f) != 0)
		return negative_errno();
	return 0;
}

int agent_pstore_find(const char *sysroot, const char *name, char **ret_record)
{
	_cleanup_free_ char *dir = strdup_printf("%s/sys/fs/pstore", sysroot);
	struct dirent *de;
	unsigned seen = 0;
	DIR *d;
	int r = 0;

	*ret_record = NULL;
	if (!dir)
		return -ENOMEM;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && seen < PSTORE_FILES_MAX) {
		_cleanup_free_ char *p = NULL, *buf = NULL;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		seen++;
		p = path_join(dir, de->d_name);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		if (read_file_capped(p, PSTORE_MAX, &buf, &len) < 0)
			continue;
		if (memmem(buf, len, name, strlen(name))) {
			*ret_record = strdup(de->d_name);
			r = *ret_record ? 0 : -ENOMEM;
			break;
		}
	}
	closedir(d);
	return r;
}

int agent_klp_stalled_tasks(const char *sysroot, int want, unsigned max, json_t **ret)
{
	_cleanup_free_ char *dir = strdup_printf("%s/proc", sysroot);
	json_t *out = json_array();
	struct dirent *de;
	DIR *d;

	if (!dir || !out) {
		json_decref(out);
		return -ENOMEM;
	}
	d = opendir(dir);
	while (d && (de = readdir(d)) && json_array_size(out) < max) {
		_cleanup_free_ char *p = NULL, *st = NULL, *comm = NULL;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		p = strdup_printf("/proc/%ld/patch_state", pid);
		if (!p || read_line(sysroot, p, &st) < 0)
			continue;
		if (atoi(st) == want || atoi(st) == -1)
			continue;
		free(p);
		p = strdup_printf("/proc/%ld/comm", pid);
		if (!p || read_line(sysroot, p, &comm) < 0)
			comm = NULL;
		json_array_append_new(out, json_pack("{s:I, s:s}", "pid", (json_int_t)pid, "comm",
						     comm ? comm : "?"));
	}
	if (d)
		closedir(d);
	*ret = out;
	return 0;
}

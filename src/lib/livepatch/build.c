/* The livepatch build pipeline: prepare -> compile -> diff -> module, and its report. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "build.h"
#include "filehash.h"
#include "diff.h"
#include "fileio.h"
#include "klp.h"
#include "log.h"
#include "macro.h"
#include "patchset.h"
#include "strbuf.h"
#include "tree.h"
#include "workdir.h"
#include "config.h"
#include "banned.h"

/* Where the patch authors' headers are: see lp_build_opts.author_include. */
static const char *author_include(const struct lp_build_opts *o)
{
	const char *e = getenv("TUXTAPE_LIVEPATCH_INCLUDE");

	if (o->author_include)
		return o->author_include;
	if (e && *e)
		return e;
	if (access(TUXTAPE_LP_INCLUDEDIR "/tuxtape/livepatch.h", R_OK) == 0)
		return TUXTAPE_LP_INCLUDEDIR;
	if (access(TUXTAPE_LP_SRC_INCLUDEDIR "/tuxtape/livepatch.h", R_OK) == 0)
		return TUXTAPE_LP_SRC_INCLUDEDIR;
	return NULL;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lp_build_report_free(struct lp_build_report *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->kernel);
	free(r->kernel_release);
	free(r->module);
	free(r->tree);
	json_decref(r->units);
	json_decref(r->functions);
	json_decref(r->refusals);
	json_decref(r->warnings);
	json_decref(r->files);
	json_decref(r->identical);
	json_decref(r->not_built);
	json_decref(r->notes);
	json_decref(r->config_accepted);
	json_decref(r->cves);
	json_decref(r->patches);
	json_decref(r->objects);
	free(r);
}

const char *lp_build_result_str(enum lp_build_result r)
{
	switch (r) {
	case LP_BUILD_WRITTEN:
		return "written";
	case LP_BUILD_UNSAFE:
		return "unsafe";
	case LP_BUILD_NOCHANGE:
		return "nochange";
	}
	return "unknown";
}

json_t *lp_build_report_to_json(const struct lp_build_report *r)
{
	json_t *j = json_pack(
		"{s:s, s:s, s:s?, s:O, s:O, s:I, s:I, s:O, s:O, s:b,"
		" s:{s:f, s:f, s:f, s:f, s:f}, s:O, s:O, s:O, s:O, s:b, s:b, s:O}",
		"result", lp_build_result_str(r->result), "name", r->name, "module", r->module,
		"functions", r->functions, "units", r->units, "relocations", (json_int_t)r->nrelocs,
		"klp_symbols", (json_int_t)r->nklp_syms, "refusals", r->refusals, "warnings",
		r->warnings, "tree_cached", r->tree_cached, "seconds", "prepare", r->t_prepare,
		"compile", r->t_compile, "diff", r->t_diff, "module_build", r->t_module, "total",
		r->t_total, "files", r->files, "identical", r->identical, "not_built", r->not_built,
		"patch_notes", r->notes, "fuzz_allowed", r->allow_fuzz, "fuzz", r->fuzz,
		"config_accepted", r->config_accepted);

	if (j && r->tree)
		json_object_set_new(j, "tree", json_string(r->tree));
	if (j) {
		json_object_set_new(j, "kernel", r->kernel ? json_string(r->kernel) : json_null());
		json_object_set_new(j, "kernel_release",
				    r->kernel_release ? json_string(r->kernel_release) : json_null());
	}
	if (j) {
		json_object_set(j, "cves", r->cves);
		json_object_set(j, "patches", r->patches);
		json_object_set(j, "objects", r->objects);
	}
	return j;
}

static int strv_to_json(json_t *a, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0)
			return -ENOMEM;
	return 0;
}

static struct lp_build_report *report_new(const struct lp_build_opts *o)
{
	struct lp_build_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->name = strdup(o->name);
	r->kernel = o->kernel ? strdup(o->kernel) : NULL;
	r->kernel_release = o->kernel_release ? strdup(o->kernel_release) : NULL;
	r->allow_fuzz = o->allow_fuzz;
	r->units = json_array();
	r->functions = json_array();
	r->refusals = json_array();
	r->warnings = json_array();
	r->files = json_array();
	r->identical = json_array();
	r->not_built = json_array();
	r->notes = json_array();
	r->config_accepted = json_array();
	r->cves = json_array();
	r->patches = json_array();
	r->objects = json_array();
	for (const char *const *a = o->config_accept; a && *a && r->config_accepted; a++)
		json_array_append_new(r->config_accepted, json_string(*a));
	for (const char *const *a = o->cves; a && *a && r->cves; a++)
		json_array_append_new(r->cves, json_string(*a));
	if (!r->name || (o->kernel && !r->kernel) || (o->kernel_release && !r->kernel_release) ||
	    !r->units || !r->functions || !r->refusals || !r->warnings || !r->files ||
	    !r->identical || !r->not_built || !r->notes || !r->config_accepted || !r->cves ||
	    !r->patches || !r->objects) {
		lp_build_report_free(r);
		return NULL;
	}
	return r;
}

/* The diff object's path for unit SOURCE under WORK, its directory created. */
static char *diff_path(const char *work, const char *source)
{
	_cleanup_free_ char *out = strdup_printf("%s/diff/%s", work, source);
	char *slash;
	int r;

	if (!out)
		return NULL;
	out[strlen(out) - 1] = 'o';
	slash = strrchr(out, '/');
	*slash = '\0';
	r = mkdir_p(out, 0755);
	*slash = '/';
	return r < 0 ? NULL : TAKE_PTR(out);
}

/* Diffs every unit; fills the report; returns the diff objects to link in *RET_OBJS. */
static int diff_units(const struct lp_tu_set *set, const struct lp_symtab *syms, const char *work,
		      struct lp_build_report *rep, char ***ret_objs, size_t *ret_n,
		      size_t *ret_unsafe, size_t *ret_changed)
{
	char **objs = calloc(set->ntus + 1, sizeof(*objs));
	size_t n = 0, nunsafe = 0, nchanged = 0;
	int r = 0;

	if (!objs)
		return -ENOMEM;
	for (size_t i = 0; i < set->ntus && r >= 0; i++) {
		const struct lp_tu *u = &set->tus[i];
		_cleanup_(lp_diff_report_freep) struct lp_diff_report *drep = NULL;
		_cleanup_free_ char *out = NULL;
		json_t *uj;

		if (u->module && !u->module[0]) {
			json_array_append_new(
				rep->refusals,
				json_sprintf("%s: built into a module whose name kbuild "
					     "did not record",
					     u->source));
			nunsafe++;
			continue;
		}
		if (u->builtin_too) {
			/* One object file, two targets: both would need patching. */
			json_array_append_new(
				rep->refusals,
				json_sprintf("%s: built into vmlinux and into module "
					     "'%s'; patching both is not supported yet",
					     u->source, u->module));
			nunsafe++;
			continue;
		}
		out = diff_path(work, u->source);
		if (!out) {
			r = -ENOMEM;
			break;
		}
		/* A module's positions are resolved against its .ko when the module is linked. */
		r = lp_diff_object(u->orig_obj, u->patched_obj, u->module, u->module ? NULL : syms,
				   out, &drep);
		if (r < 0) {
			log_error("cannot diff the objects of '%s': %s", u->source, strerror(-r));
			break;
		}
		uj = lp_diff_report_to_json(drep, r);
		if (uj) {
			json_object_set_new(uj, "object",
					    json_string(u->module ? u->module : "vmlinux"));
			json_object_set_new(uj, "source", json_string(u->source));
			json_object_set_new(uj, "why", json_string(u->why));
			json_array_append_new(rep->units, uj);
		}
		for (size_t k = 0; k < drep->nwarnings; k++)
			json_array_append_new(rep->warnings,
					      json_sprintf("%s: %s", u->source, drep->warnings[k]));
		if (r == LP_DIFF_UNSAFE) {
			for (size_t k = 0; k < drep->nrefusals; k++)
				json_array_append_new(
					rep->refusals,
					json_sprintf("%s: %s", u->source, drep->refusals[k]));
			nunsafe++;
		} else if (r == LP_DIFF_NOCHANGE) {
			json_array_append_new(rep->identical, json_string(u->source));
		} else {
			for (size_t k = 0; k < drep->nfuncs; k++) {
				json_array_append_new(rep->functions,
						      json_string(drep->funcs[k].name));
				nchanged += drep->funcs[k].kind == LP_FUNC_CHANGED;
			}
			nchanged += drep->ncallbacks; /* a callback is a change that runs */
			objs[n++] = TAKE_PTR(out);
		}
		r = 0;
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(objs[i]);
		free(objs);
		return r;
	}
	*ret_objs = objs;
	*ret_n = n;
	*ret_unsafe = nunsafe;
	*ret_changed = nchanged;
	return 0;
}

int lp_build(const struct lp_build_opts *o, struct lp_build_report **ret_report)
{
	_cleanup_(lp_build_report_freep) struct lp_build_report *rep = NULL;
	_cleanup_(lp_patchset_freep) struct lp_patchset *ps = NULL;
	_cleanup_(lp_symtab_freep) struct lp_symtab *syms = NULL;
	_cleanup_(lp_tree_freep) struct lp_tree *tree = NULL;
	_cleanup_(lp_tu_set_freep) struct lp_tu_set *set = NULL;
	_cleanup_(lp_module_report_freep) struct lp_module_report *mrep = NULL;
	_cleanup_free_ char *work = NULL;
	_cleanup_close_ int work_lock = -1;
	_cleanup_free_ const char **digests = NULL;
	char **objs = NULL;
	size_t nobjs = 0, nunsafe = 0, nchanged = 0;
	double t0 = now_seconds(), t;
	int r;

	if (!o || !o->patches || o->npatches == 0 || !o->config || !o->symbols || !o->kbuild ||
	    !o->name || !o->out_ko || !!o->source_dir == !!o->source_tarball)
		return -EINVAL;
	rep = report_new(o);
	ps = lp_patchset_new();
	if (!rep || !ps)
		return -ENOMEM;
	for (size_t i = 0; i < o->npatches; i++) {
		crypto_hash_sha256_state h;
		unsigned char digest[crypto_hash_sha256_BYTES];
		char hex[crypto_hash_sha256_BYTES * 2 + 1];

		r = lp_patchset_add_file(ps, o->patches[i]);
		if (r < 0)
			return r;
		/* What the module was built from, for the report (and whoever ships it). */
		crypto_hash_sha256_init(&h);
		r = tt_file_sha256_update(&h, o->patches[i]);
		if (r < 0)
			return log_error_errno(r, "cannot read patch '%s': %s", o->patches[i],
					       strerror(-r));
		crypto_hash_sha256_final(&h, digest);
		sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
		json_array_append_new(rep->patches, json_pack("{s:s, s:s}", "path", o->patches[i],
							      "sha256", hex));
	}
	r = lp_symtab_load(o->symbols, &syms);
	if (r < 0)
		return log_error_errno(r, "cannot read symbols '%s': %s", o->symbols, strerror(-r));
	if (o->vmlinux) {
		r = lp_symtab_add_vmlinux(syms, o->vmlinux);
		if (r < 0)
			return log_error_errno(r, "cannot read vmlinux '%s': %s", o->vmlinux,
					       strerror(-r));
	}

	struct lp_tree_opts topts = {.source_dir = o->source_dir,
				     .source_tarball = o->source_tarball,
				     .config = o->config,
				     .kbuild = o->kbuild,
				     .cache_dir = o->cache_dir,
				     .jobs = o->jobs,
				     .config_accept = o->config_accept};
	r = lp_tree_prepare(&topts, &tree);
	if (r < 0)
		return r;
	rep->t_prepare = tree->prepare_seconds;
	rep->tree_cached = tree->cached;
	rep->tree = strdup(tree->path);
	if (!rep->tree)
		return -ENOMEM;

	if (o->workdir) {
		work = strdup(o->workdir);
		if (!work)
			return -ENOMEM;
		r = mkdir_p(work, 0755);
		if (r < 0)
			return log_error_errno(r, "cannot create '%s': %s", work, strerror(-r));
	} else {
		r = lp_workdir_new("tuxtape-lp.", &work, &work_lock);
		if (r < 0)
			return r;
	}

	r = lp_tree_compile(
		tree, ps,
		&(struct lp_compile_opts){.allow_fuzz = o->allow_fuzz,
					  .max_units = o->max_units,
					  .author_include = author_include(o)},
		work, &set);
	if (r < 0)
		goto out;
	rep->t_compile = set->compile_seconds;
	rep->fuzz = set->fuzz;
	r = strv_to_json(rep->not_built, set->skipped, set->nskipped);
	if (r == 0)
		r = strv_to_json(rep->files, set->files, set->nfiles);
	if (r == 0)
		r = strv_to_json(rep->notes, set->notes, set->nnotes);
	if (r < 0)
		goto out;
	if (set->fuzz)
		json_array_append_new(rep->warnings,
				      json_string("hunks applied with fuzz (--allow-fuzz): check "
						  "where they landed"));
	if (set->ntus == 0) {
		rep->result = LP_BUILD_NOCHANGE;
		goto done;
	}

	t = now_seconds();
	r = diff_units(set, syms, work, rep, &objs, &nobjs, &nunsafe, &nchanged);
	rep->t_diff = now_seconds() - t;
	if (r < 0)
		goto out;
	if (nunsafe > 0) {
		rep->result = LP_BUILD_UNSAFE;
		goto done;
	}
	if (nobjs == 0 || nchanged == 0) {
		/* new global functions or variables that no changed function uses */
		if (nobjs > 0)
			json_array_append_new(rep->warnings,
					      json_string("the patches add functions or variables "
							  "but change none that runs"));
		rep->result = LP_BUILD_NOCHANGE;
		goto done;
	}

	t = now_seconds();
	digests = calloc(o->npatches + 1, sizeof(*digests));
	if (!digests) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(rep->patches); i++)
		digests[i] = json_string_value(json_object_get(json_array_get(rep->patches, i),
							       "sha256"));
	struct lp_module_opts mopts = {.syms = syms,
				       .cves = o->cves,
				       .patch_sha256 = digests,
				       .kbuild_dir = o->kbuild,
				       .name = o->name,
				       .replace = o->replace,
				       .module_paths = o->module_paths,
				       .nmodule_paths = o->nmodule_paths};
	r = lp_module_build_opts((const char *const *)objs, nobjs, &mopts, o->out_ko, &mrep);
	rep->t_module = now_seconds() - t;
	if (r == -ENOEXEC && mrep && mrep->build_log)
		log_error("kbuild failed to link the module:\n%s", mrep->build_log);
	if (r < 0) {
		log_error("cannot build module '%s': %s", o->out_ko, strerror(-r));
		goto out;
	}
	for (size_t k = 0; k < mrep->nwarnings; k++)
		json_array_append_new(rep->warnings, json_string(mrep->warnings[k]));
	rep->nrelocs = mrep->nklp_relas;
	rep->nklp_syms = mrep->nklp_syms;
	for (size_t k = 0; k < mrep->nobjects; k++)
		json_array_append_new(
			rep->objects,
			json_pack("{s:s, s:s?, s:I, s:I}", "name", mrep->objects[k].name, "ko",
				  mrep->objects[k].ko, "function_count",
				  (json_int_t)mrep->objects[k].nfuncs, "klp_relocations",
				  (json_int_t)mrep->objects[k].nklp_relas));
	if (r == LP_MODULE_UNSAFE) {
		for (size_t k = 0; k < mrep->nrefusals; k++)
			json_array_append_new(rep->refusals, json_string(mrep->refusals[k]));
		rep->result = LP_BUILD_UNSAFE;
		goto done;
	}
	rep->module = strdup(mrep->ko ? mrep->ko : o->out_ko);
	if (!rep->module) {
		r = -ENOMEM;
		goto out;
	}
	rep->result = LP_BUILD_WRITTEN;
done:
	r = 0;
out:
	if (work && !o->workdir)
		rm_rf(work);
	for (size_t i = 0; i < nobjs; i++)
		free(objs[i]);
	free(objs);
	if (r < 0)
		return r;
	rep->t_total = now_seconds() - t0;
	*ret_report = TAKE_PTR(rep);
	return (int)(*ret_report)->result;
}

/* tuxtape-builder's engine: lease, build with lp_build(), boot-test, upload, renew. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "fileio.h"
#include "livepatch/build.h"
#include "log.h"
#include "server/builder.h"
#include "server/client.h"
#include "strbuf.h"
#include "banned.h"

#define SRV_BOOT_LOG_MAX (2 * 1024 * 1024)

struct renewer {
	const struct srv_client_opts *copts;
	char path[64];
	unsigned every;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

/* Renews the lease every third of it until the job is done. */
static void *renew_thread(void *arg)
{
	struct renewer *rn = arg;
	struct srv_client *c = NULL;

	if (srv_client_new(rn->copts, &c) < 0)
		return NULL;
	pthread_mutex_lock(&rn->lock);
	while (!rn->done) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += rn->every;
		if (pthread_cond_timedwait(&rn->cond, &rn->lock, &ts) == 0 || rn->done)
			continue;
		pthread_mutex_unlock(&rn->lock);
		json_t *body = json_object();

		srv_client_call(c, "POST", rn->path, body, NULL);
		json_decref(body);
		pthread_mutex_lock(&rn->lock);
	}
	pthread_mutex_unlock(&rn->lock);
	srv_client_free(c);
	return NULL;
}

static int write_text(const char *dir, const char *name, const char *text, char **ret_path)
{
	char *p = strdup_printf("%s/%s", dir, name);
	int r;

	if (!p)
		return -ENOMEM;
	r = write_file_atomic(p, text, strlen(text), 0600);
	if (r < 0) {
		log_error("cannot write '%s': %s", p, strerror(-r));
		free(p);
		return r;
	}
	*ret_path = p;
	return 0;
}

/*
 * Runs the qemu harness on KO in the job's exact kernel (/boot/vmlinuz-KERNEL): the module
 * loads, its transition completes, it is disabled and unloaded, and the kernel log has no
 * WARNING, BUG or Oops. "passed", "failed" or "skipped" (the harness's 77: no qemu, busybox
 * or image for that kernel); its output, with the console and dmesg, in LOG.
 */
static const char *boot_test(const struct srv_builder_opts *o, const char *kernel, const char *ko,
			     const char *dir, struct strbuf *log)
{
	_cleanup_free_ char *expect = NULL, *out = NULL, *text = NULL;
	pid_t pid;
	int status;

	if (write_text(dir, "boot.expect", "cmd: true\n", &expect) < 0)
		return "failed";
	out = strdup_printf("%s/boot.log", dir);
	if (!out)
		return "failed";
	pid = fork();
	if (pid < 0)
		return "failed";
	if (pid == 0) {
		FILE *f = freopen(out, "w", stdout);

		if (!f || dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
			_exit(127);
		/* -v: the serial console and the guest's dmesg go into the kept log too. */
		execlp("bash", "bash", o->boot_test, "-v", "--kver", kernel, "livepatch", ko,
		       expect, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read_file_capped(out, SRV_BOOT_LOG_MAX, &text, NULL) == 0)
		strbuf_adds(log, text);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		return "skipped";
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "passed" : "failed";
}

static int run_job(const struct srv_builder_opts *o, struct srv_client *c, json_t *job)
{
	int64_t id = json_integer_value(json_object_get(job, "id"));
	const char *kernel = json_string_value(json_object_get(job, "kernel"));
	const char *cfg_text = json_string_value(json_object_get(job, "config"));
	const char *sym_text = json_string_value(json_object_get(job, "symbols"));
	_cleanup_free_ char *dir = NULL, *config = NULL, *symbols = NULL, *kbuild = NULL,
			    *ko = NULL, *name = NULL, *ko_data = NULL, *b64 = NULL, *path = NULL;
	_cleanup_(lp_build_report_freep) struct lp_build_report *rep = NULL;
	struct strbuf boot_log = STRBUF_INIT;
	const char **patches = NULL;
	const char *build = "error", *boot = "skipped";
	struct renewer rn = {.copts = o->client};
	json_t *p, *body;
	pthread_t th;
	size_t i, np = json_array_size(json_object_get(job, "patches")), ko_len = 0;
	int r;

	if (o->log)
		strbuf_reset(o->log);
	log_info("job %lld: %s", (long long)id, kernel);
	dir = strdup_printf("%s/job-%lld", o->work_dir, (long long)id);
	name = strdup_printf("tt_job%lld", (long long)id);
	kbuild = strdup_printf("/lib/modules/%s/build", kernel);
	ko = strdup_printf("%s/tt_job%lld.ko", dir ? dir : ".", (long long)id);
	patches = calloc(np + 1, sizeof(*patches));
	if (!dir || !name || !kbuild || !ko || !patches)
		return -ENOMEM;
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %s", dir, strerror(-r));

	snprintf(rn.path, sizeof(rn.path), "/v1/jobs/%lld/renew", (long long)id);
	rn.every = (unsigned)json_integer_value(json_object_get(job, "lease_seconds"));
	rn.every = rn.every >= 6 ? rn.every / 3 : 2;
	pthread_mutex_init(&rn.lock, NULL);
	pthread_cond_init(&rn.cond, NULL);
	r = pthread_create(&th, NULL, renew_thread, &rn);
	if (r != 0)
		return -r;

	r = 0;
	json_array_foreach(json_object_get(job, "patches"), i, p)
	{
		char fn[32];
		char *pp = NULL;

		snprintf(fn, sizeof(fn), "%02zu.patch", i);
		r = write_text(dir, fn, json_string_value(p), &pp);
		if (r < 0)
			break;
		patches[i] = pp;
	}
	if (r == 0 && cfg_text)
		r = write_text(dir, "config", cfg_text, &config);
	else if (r == 0)
		config = strdup_printf("%s/config-%s", o->config_dir ? o->config_dir : "/boot",
				       kernel);
	if (r == 0 && sym_text)
		r = write_text(dir, "symbols", sym_text, &symbols);
	else if (r == 0 && o->symbols)
		symbols = strdup(o->symbols);
	if (r == 0 && !symbols)
		r = log_error_errno(-EINVAL, "no symbol table for '%s' (tuxtape-builder --symbols)",
				    kernel);
	if (r == 0) {
		struct lp_build_opts bo = {
			.patches = patches,
			.npatches = np,
			.source_tarball = o->source_tarball,
			.config = config,
			.symbols = symbols,
			.kbuild = kbuild,
			.name = name,
			.out_ko = ko,
		};

		r = lp_build(&bo, &rep);
		if (r == 0)
			build = lp_build_result_str(rep->result);
	}
	if (r == 0 && streq(build, "written")) {
		if (o->boot_test)
			boot = boot_test(o, kernel, ko, dir, &boot_log);
		r = read_file_capped(ko, 64 * 1024 * 1024, &ko_data, &ko_len);
		if (r == 0) {
			size_t n =
				sodium_base64_ENCODED_LEN(ko_len, sodium_base64_VARIANT_ORIGINAL);

			b64 = malloc(n);
			if (b64)
				sodium_bin2base64(b64, n, (unsigned char *)ko_data, ko_len,
						  sodium_base64_VARIANT_ORIGINAL);
			else
				r = -ENOMEM;
		}
	}
	pthread_mutex_lock(&rn.lock);
	rn.done = true;
	pthread_cond_signal(&rn.cond);
	pthread_mutex_unlock(&rn.lock);
	pthread_join(th, NULL);

	if (r < 0)
		build = "error";
	body = json_pack("{s:s s:s s:s* s:o* s:s* s:s* s:s* s:s*}", "build", build, "boot", boot,
			 "error", r < 0 ? strerror(-r) : NULL, "report",
			 rep ? lp_build_report_to_json(rep) : NULL, "module_name",
			 b64 ? "tt_job.ko" : NULL, "module", b64, "log",
			 o->log ? strbuf_str(o->log) : NULL, "boot_log",
			 boot_log.len ? strbuf_str(&boot_log) : NULL);
	if (body && b64) {
		_cleanup_free_ char *mn = strdup_printf("%s.ko", name);

		json_object_set_new(body, "module_name", json_string(mn));
	}
	path = strdup_printf("/v1/jobs/%lld/result", (long long)id);
	r = body && path ? srv_client_call(c, "POST", path, body, NULL) : -ENOMEM;
	json_decref(body);
	strbuf_release(&boot_log);
	for (i = 0; i < np; i++)
		free((char *)patches[i]);
	free(patches);
	rm_rf(dir);
	if (r == 0)
		log_info("job %lld: %s, boot test %s", (long long)id, build, boot);
	return r;
}

int srv_builder_run(const struct srv_builder_opts *o)
{
	struct srv_client *c = NULL;
	json_t *kernels = json_array(), *body, *ans;
	unsigned done = 0;
	int r;

	for (const char *const *k = o->kernels; k && *k; k++)
		json_array_append_new(kernels, json_string(*k));
	r = srv_client_new(o->client, &c);
	if (r < 0) {
		json_decref(kernels);
		return r;
	}
	body = json_pack("{s:O s:b}", "kernels", kernels, "boot_test", !!o->boot_test);
	r = srv_client_call(c, "POST", "/v1/builders", body, NULL);
	json_decref(body);
	while (r == 0 && !*o->stop && (!o->max_jobs || done < o->max_jobs)) {
		json_t *job;

		ans = NULL;
		body = json_pack("{s:O}", "kernels", kernels);
		r = srv_client_call(c, "POST", "/v1/jobs/lease", body, &ans);
		json_decref(body);
		if (r < 0)
			break;
		job = json_object_get(ans, "job");
		if (json_is_object(job)) {
			json_object_set(job, "lease_seconds",
					json_object_get(ans, "lease_seconds"));
			log_info("leased job %lld",
				 (long long)json_integer_value(json_object_get(job, "id")));
			/* A job that went wrong is the server's to know; the builder goes on. */
			if (run_job(o, c, job) < 0)
				log_warn("job %lld did not finish",
					 (long long)json_integer_value(json_object_get(job, "id")));
			done++;
		} else if (o->exit_when_idle) {
			json_decref(ans);
			break;
		} else {
			for (unsigned s = 0;
			     s < (o->poll_seconds ? o->poll_seconds : 5) && !*o->stop; s++)
				sleep(1);
		}
		json_decref(ans);
	}
	json_decref(kernels);
	srv_client_free(c);
	return r;
}

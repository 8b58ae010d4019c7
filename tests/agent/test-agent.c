/*
 * Unit tests for the agent (src/lib/agent): a fake root with /proc, /sys and /dev/kmsg, a
 * real archive written by the archive library and read through a fake fetcher, module
 * loading faked by creating the livepatch's sysfs directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/kmsg.h"
#include "agent/report.h"
#include "agent/state.h"
#include "archive/archive.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"

#define RELEASE "6.1.0-tt-test"
#define LP "tt_lp_test"
#define BASE "http://archive.test"

/* A fake kernel: what the loader does and how its transitions behave. */
struct fake {
	char *dir;	/* the test's temporary directory */
	char *root;	/* sysroot */
	char *archive;	/* the archive's DIR */
	uint64_t ms;	/* the monotonic clock */
	bool stall;	/* transitions never finish */
	bool warn;	/* loading logs a WARNING that names the patch */
	bool die_on_load; /* the loader kills the process (a SIGKILL before finit_module) */
	bool signalled;	  /* the tasks were signalled */
	unsigned loads;
	unsigned seq;
	time_t now;
	struct agent_config cfg;
	json_t *posts;	/* [{"path", "body"}] what the agent sent the server */
	bool post_fail; /* the server cannot be reached */
};

static char *fpath(const struct fake *f, const char *rel)
{
	char *p = strdup_printf("%s%s", f->root, rel);

	assert_non_null(p);
	return p;
}

static void put(const struct fake *f, const char *rel, const char *text)
{
	char *p = fpath(f, rel), *slash = strrchr(p, '/');

	*slash = '\0';
	assert_int_equal(mkdir_p(p, 0755), 0);
	*slash = '/';
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
	free(p);
}

static bool exists(const struct fake *f, const char *rel)
{
	char *p = fpath(f, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static void rm_under(const struct fake *f, const char *rel)
{
	char *p = fpath(f, rel);

	rm_rf(p);
	free(p);
}

static void kmsg_append(struct fake *f, const char *msg)
{
	char *p = fpath(f, "/dev/kmsg");
	FILE *fp = fopen(p, "a");

	assert_non_null(fp);
	fprintf(fp, "4,%u,%u,-;%s\n", f->seq, f->seq * 1000, msg);
	f->seq++;
	fclose(fp);
	free(p);
}

static int fake_load(void *userdata, int fd, const char *name)
{
	struct fake *f = userdata;
	char *rel;

	if (f->die_on_load)
		raise(SIGKILL);
	f->loads++;
	rel = strdup_printf("/sys/kernel/livepatch/%s/enabled", name);
	put(f, rel, "1\n");
	free(rel);
	rel = strdup_printf("/sys/kernel/livepatch/%s/transition", name);
	put(f, rel, f->stall ? "1\n" : "0\n");
	free(rel);
	rel = strdup_printf("/sys/kernel/livepatch/%s/vmlinux/tt_lp_fn,1/x", name);
	put(f, rel, "");
	free(rel);
	if (f->warn) {
		kmsg_append(f, "------------[ cut here ]------------");
		kmsg_append(f, "WARNING: CPU: 0 PID: 1 at kernel/x.c:10 tt_lp_fn+0x10/0x20 "
			       "[tt_lp_test]");
		kmsg_append(f, "Modules linked in: tt_lp_test(OEK) ext4");
		kmsg_append(f, "---[ end trace 0000000000000000 ]---");
	}
	return 0;
}

static int fake_unload(void *userdata, const char *name)
{
	return 0;
}

/* The kernel's side of a disable: the patch's directory goes once it is unpatched. */
static void fake_sleep(void *userdata, unsigned ms)
{
	struct fake *f = userdata;
	char *en = fpath(f, "/sys/kernel/livepatch/" LP "/enabled");
	char *buf = NULL;

	f->ms += ms;
	{
		char *sig = fpath(f, "/sys/kernel/livepatch/" LP "/signal");

		f->signalled |= access(sig, F_OK) == 0;
		free(sig);
	}
	if (read_file_capped(en, 16, &buf, NULL) == 0 && buf[0] == '0') {
		char *d = fpath(f, "/sys/kernel/livepatch/" LP);

		rm_rf(d);
		free(d);
	}
	free(buf);
	free(en);
}

static uint64_t fake_now_ms(void *userdata)
{
	return ((struct fake *)userdata)->ms;
}

/* BASE/metadata/X and BASE/targets/X are the archive's public/ files. */
static int fake_fetch(void *userdata, const char *url, size_t max, char **ret_buf, size_t *ret_len)
{
	struct fake *f = userdata;
	char *p;
	int r;

	if (!startswith(url, BASE "/"))
		return -ENOENT;
	p = strdup_printf("%s/public/%s", f->archive, url + strlen(BASE "/"));
	r = read_file_capped(p, max, ret_buf, ret_len);
	free(p);
	return r == -EFBIG ? -EFBIG : r < 0 ? -ENOENT : 0;
}

static void boot(struct fake *f, const char *boot_id, long long btime)
{
	char *stat = strdup_printf("cpu  1 2 3\nbtime %lld\nprocesses 1\n", btime);

	put(f, "/proc/sys/kernel/random/boot_id", boot_id);
	put(f, "/proc/stat", stat);
	free(stat);
	rm_under(f, "/sys/kernel/livepatch/" LP);
	put(f, "/sys/kernel/livepatch/.keep", "");
}

static void add_module(struct fake *f, const char *ko, const char *kernel, const char *cve,
		       time_t when)
{
	const char *kos[] = {ko};
	const char *cves[] = {cve};
	struct ar_target_opts o = {.kernel = kernel, .cves = cves, .n_cves = 1};

	assert_int_equal(ar_add(f->archive, kos, 1, &o, when, NULL), 0);
	assert_int_equal(ar_publish(f->archive, when), 0);
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/tt-agent-test.XXXXXX";
	struct ar_init_opts io = {};
	char *root_json, *conf;

	assert_non_null(mkdtemp(tmpl));
	f->dir = strdup(tmpl);
	f->root = strdup_printf("%s/root", tmpl);
	f->archive = strdup_printf("%s/archive", tmpl);
	f->now = time(NULL);
	put(f, "/proc/sys/kernel/osrelease", RELEASE "\n");
	put(f, "/proc/version", "Linux version " RELEASE " (test) #1 SMP\n");
	put(f, "/dev/kmsg", "");
	boot(f, "boot-a\n", f->now - 100);
	assert_int_equal(ar_init(f->archive, &io, f->now - 60), 0);
	root_json = strdup_printf("%s/public/metadata/1.root.json", f->archive);
	conf = strdup_printf("%s/agent.conf", tmpl);
	{
		char *text = strdup_printf("# test\narchive_url = %s\ntrusted_root = %s\n"
					   "state_dir = %s/state\nsysroot = %s\n"
					   "transition_timeout = 10\nsignal_after = 3\n"
					   "settle = 1\ncrash_window = 5m\n",
					   BASE, root_json, tmpl, f->root);
		assert_int_equal(write_file_atomic(conf, text, strlen(text), 0644), 0);
		free(text);
	}
	assert_int_equal(agent_config_load(conf, &f->cfg), 0);
	free(conf);
	free(root_json);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	rm_rf(f->dir);
	json_decref(f->posts);
	agent_config_release(&f->cfg);
	free(f->dir);
	free(f->root);
	free(f->archive);
	free(f);
	return 0;
}

static int fake_post(void *userdata, const struct agent_config *cfg, const char *path,
		     const char *body)
{
	struct fake *f = userdata;

	if (!f->posts)
		f->posts = json_array();
	json_array_append_new(f->posts, json_pack("{s:s, s:o, s:b}", "path", path, "body",
						  json_loads(body, 0, NULL), "failed",
						  f->post_fail));
	return f->post_fail ? -ECONNREFUSED : 0;
}

static struct agent *open_agent(struct fake *f, unsigned flags)
{
	struct agent_ops ops = {
		.load = fake_load,
		.unload = fake_unload,
		.sleep_ms = fake_sleep,
		.now_ms = fake_now_ms,
		.userdata = f,
		.fetch = fake_fetch,
		.fetch_userdata = f,
		.now = f->now,
		.post = fake_post,
		.post_userdata = f,
	};
	struct agent *a = NULL;

	assert_int_equal(agent_new(&f->cfg, &ops, flags, &a), 0);
	return a;
}

/* One check; returns its result ("loaded", "none", ...) in RES (64 bytes). */
static int check(struct fake *f, char *res)
{
	struct agent *a = open_agent(f, 0);
	json_t *rep = NULL;
	int r = agent_check(a, &rep);

	snprintf(res, 64, "%s", rep ? json_string_value(json_object_get(rep, "result")) : "-");
	json_decref(rep);
	agent_free(a);
	return r;
}

static json_t *status(struct fake *f)
{
	struct agent *a = open_agent(f, AGENT_READ_ONLY);
	json_t *st = NULL;

	assert_int_equal(agent_status(a, &st), 0);
	agent_free(a);
	return st;
}

static size_t n_blocked(struct fake *f)
{
	json_t *st = status(f);
	size_t n = json_array_size(json_object_get(st, "blocked"));

	json_decref(st);
	return n;
}

static void test_load_status_vex(void **state)
{
	struct fake *f = *state;
	char res[64];
	json_t *st, *p, *vex;
	struct agent *a;
	char *eff;

	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "none");
	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "loaded");
	assert_int_equal(f->loads, 1);
	st = status(f);
	p = json_array_get(json_object_get(st, "patches"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")), LP);
	assert_true(json_is_true(json_object_get(p, "enabled")));
	assert_true(json_is_true(json_object_get(p, "managed")));
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(st, "cves_fixed"), 0)),
		"CVE-2024-0001");
	assert_string_equal(json_string_value(json_object_get(st, "last_check_result")), "loaded");
	json_decref(st);
	/* nothing new: no second load */
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "up-to-date");
	assert_int_equal(f->loads, 1);
	a = open_agent(f, AGENT_READ_ONLY);
	assert_int_equal(agent_uname(a, &eff), 0);
	assert_string_equal(eff, RELEASE "+" LP);
	free(eff);
	assert_int_equal(agent_vex(a, &vex), 0);
	p = json_array_get(json_object_get(vex, "statements"), 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(p, "vulnerability"), "name")),
			    "CVE-2024-0001");
	assert_string_equal(json_string_value(json_object_get(p, "status")), "fixed");
	json_decref(vex);
	agent_free(a);
}

/* The archive signs a module for another kernel: this kernel never sees it as its own. */
static void test_other_kernel_not_chosen(void **state)
{
	struct fake *f = *state;
	char res[64];

	add_module(f, getenv("KO_OTHER"), "5.10.0-tt-other", "CVE-2024-0002", f->now - 30);
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "none");
	assert_int_equal(f->loads, 0);
}

/* The bytes are checked against the signed metadata and the running kernel before loading. */
static void test_verify_refuses(void **state)
{
	const char *kos[] = {getenv("KO_TEST"), getenv("KO_OTHER")};
	struct agent_kernel k = {.release = (char *)RELEASE};

	for (unsigned i = 0; i < 2; i++) {
		_cleanup_strbuf_ struct strbuf why = STRBUF_INIT;
		char sha[65];
		struct stat st;
		json_t *info;
		int fd = open(kos[i], O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(ar_file_sha256(kos[i], sha), 0);
		info = json_pack("{s:I, s:{s:s}, s:{s:s, s:s, s:s}}", "length",
				 (json_int_t)st.st_size, "hashes", "sha256", sha, "custom",
				 "kernel", RELEASE, "vermagic",
				 i == 0 ? "6.1.0-tt-test SMP preempt mod_unload "
					: "5.10.0-tt-other SMP mod_unload ",
				 "livepatch", i == 0 ? "tt_lp_test" : "tt_lp_other");
		/* the test kernel's module passes; the other kernel's is refused */
		assert_int_equal(agent_module_verify(&k, fd, "x.ko", info, &why), i == 0 ? 0 : -EBADMSG);
		if (i == 1)
			assert_non_null(strstr(strbuf_str(&why), "built for kernel '5.10.0-tt-other'"));
		/* one byte different from what was signed */
		strbuf_reset(&why);
		sha[0] = sha[0] == '0' ? '1' : '0';
		json_object_set_new(json_object_get(info, "hashes"), "sha256", json_string(sha));
		assert_int_equal(agent_module_verify(&k, fd, "x.ko", info, &why), -EBADMSG);
		assert_non_null(strstr(strbuf_str(&why), "SHA-256"));
		json_decref(info);
		close(fd);
	}
}

/* A mirror serving other bytes than were signed: the download is refused, nothing loads. */
static void test_tampered_ko(void **state)
{
	struct fake *f = *state;
	char res[64], *cmd;

	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	cmd = strdup_printf("for k in %s/public/targets/%s/*.ko; do printf X | dd of=$k bs=1 "
			    "seek=100 conv=notrunc 2>/dev/null; done",
			    f->archive, RELEASE);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "refused");
	assert_int_equal(f->loads, 0);
}

/* A timestamp past its expiry (a frozen mirror): the refresh fails, nothing loads. */
static void test_expired_timestamp(void **state)
{
	struct fake *f = *state;
	char res[64];
	json_t *st;

	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	f->now += 2 * 86400;
	assert_int_equal(check(f, res), -EKEYEXPIRED);
	assert_int_equal(f->loads, 0);
	st = status(f);
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_array_get(json_object_get(st, "errors"), 0), "message")),
			       "expired"));
	json_decref(st);
}

static void count_record(const char *rec, size_t len, void *userdata)
{
	(*(unsigned *)userdata)++;
}

static void test_kmsg_parse(void **state)
{
	static const char *const funcs[] = {"cmdline_proc_show"};
	struct agent_kmsg_watch w = {.module = "tt_lp", .funcs = funcs, .n_funcs = 1};
	char reason[AGENT_KMSG_REASON_MAX + 1];
	struct agent_kmsg_rec r;
	const char *rec;

	rec = "4,1234,5678901,-,caller=T1;WARNING: CPU: 0 PID: 1 at fs/x.c:1 f+0x1/0x2\n";
	assert_int_equal(agent_kmsg_parse(rec, strlen(rec), &r), 0);
	assert_int_equal(r.level, 4);
	assert_int_equal(r.seq, 1234);
	assert_int_equal(r.usec, 5678901);
	assert_int_equal(r.msg_len, strlen("WARNING: CPU: 0 PID: 1 at fs/x.c:1 f+0x1/0x2"));
	{
		static const char *const bad[] = {"", ";x", "4;x", "4,1;x", "a,1,2,-;x",
						  "4,1,2x;x", "4,1,99999999999999999999999,-;x"};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			assert_int_equal(agent_kmsg_parse(bad[i], strlen(bad[i]), &r), -EBADMSG);
	}
#define FEED(text)                                                                                 \
	(r = (struct agent_kmsg_rec){.msg = (text), .msg_len = strlen(text)},                      \
	 agent_kmsg_watch_feed(&w, &r, reason))
	/* a warning elsewhere, its module list naming the patch: not blamed */
	assert_int_equal(FEED("WARNING: CPU: 0 PID: 1 at fs/x.c:1 other_fn+0x1/0x2"), 0);
	assert_int_equal(FEED("Modules linked in: tt_lp(OEK) ext4"), 0);
	assert_int_equal(FEED(" other_fn+0x1/0x2"), 0);
	assert_int_equal(FEED("---[ end trace 0000000000000000 ]---"), 0);
	/* a trace line outside any report: not blamed */
	assert_int_equal(FEED(" cmdline_proc_show+0x1/0x2 [tt_lp]"), 0);
	/* a BUG whose trace goes through the patch module */
	assert_int_equal(FEED("BUG: kernel NULL pointer dereference, address: 0"), 0);
	assert_int_equal(FEED(" seq_read+0x1/0x2"), 0);
	assert_int_equal(FEED(" cmdline_proc_show+0x1/0x2 [tt_lp]"), 1);
	assert_non_null(strstr(reason, "BUG: kernel NULL pointer"));
	assert_non_null(strstr(reason, "[tt_lp]"));
	/* an Oops in a replaced function, named by RIP */
	assert_int_equal(FEED("Oops: 0000 [#1] PREEMPT SMP"), 0);
	assert_int_equal(FEED("RIP: 0010:cmdline_proc_show+0x5/0x30"), 1);
	/* the same function, but another livepatch's copy of it */
	assert_int_equal(FEED("WARNING: CPU: 0 at x.c:1 cmdline_proc_show+0x1/0x2 [tt_other]"), 0);
	assert_int_equal(FEED("RIP: 0010:cmdline_proc_show+0x1/0x2 [tt_other]"), 0);
	assert_int_equal(FEED("---[ end trace 0 ]---"), 0);
	/* a prefix of the name is not the name */
	assert_int_equal(FEED("WARNING: CPU: 0 at x.c:1 xcmdline_proc_show+0x1/0x2 [tt_lpx]"), 0);
	assert_int_equal(FEED("---[ end trace 0 ]---"), 0);
	/* livepatch errors that name it; the ordinary messages do not */
	assert_int_equal(FEED("livepatch: 'tt_lp': starting patching transition"), 0);
	assert_int_equal(FEED("livepatch: 'tt_lp': patching complete"), 0);
	assert_int_equal(FEED("livepatch: failed to register patch 'other'"), 0);
	assert_int_equal(FEED("livepatch: failed to apply patch 'tt_lp'"), 1);
	/* split: continuation lines belong to their record, a partial line waits */
	{
		const char *buf = "6,1,2,-;a\n SUBSYSTEM=x\n6,2,3,-;b\n6,3,4";
		unsigned n = 0;
		size_t used;

		used = agent_kmsg_split(buf, strlen(buf), count_record, &n);
		assert_int_equal(n, 2);
		assert_int_equal(used, strlen("6,1,2,-;a\n SUBSYSTEM=x\n6,2,3,-;b\n"));
	}
}

/* A WARNING naming the patch after it was loaded: reverted, blocked, not loaded again. */
static void test_kmsg_warning_reverts(void **state)
{
	struct fake *f = *state;
	char res[64];
	json_t *st;

	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	f->warn = true;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "reverted");
	assert_false(exists(f, "/sys/kernel/livepatch/" LP));
	assert_int_equal(n_blocked(f), 1);
	st = status(f);
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_array_get(json_object_get(st, "blocked"), 0), "reason")),
			       "WARNING"));
	json_decref(st);
	/* a later check does not load it again */
	f->warn = false;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "none");
	assert_int_equal(f->loads, 1);
}

/* A warning logged later, read by the next check (cron) since the last one. */
static void test_kmsg_later_warning(void **state)
{
	struct fake *f = *state;
	char res[64];

	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "loaded");
	kmsg_append(f, "WARNING: CPU: 0 PID: 7 at kernel/x.c:10 tt_lp_fn+0x10/0x20 [tt_lp_test]");
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "reverted");
	assert_false(exists(f, "/sys/kernel/livepatch/" LP));
}

/* A transition that never finishes: the tasks are signalled, then the patch reverted. */
static void test_transition_stall(void **state)
{
	struct fake *f = *state;
	char res[64];

	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	f->stall = true;
	put(f, "/proc/42/patch_state", "0\n");
	put(f, "/proc/42/comm", "stuck-task\n");
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "reverted");
	assert_false(exists(f, "/sys/kernel/livepatch/" LP));
	assert_true(f->ms >= 10000);
	assert_true(f->signalled);
	{
		json_t *st = status(f);
		const char *reason = json_string_value(json_object_get(
			json_array_get(json_object_get(st, "blocked"), 0), "reason"));

		assert_non_null(strstr(reason, "did not finish in 10s"));
		assert_non_null(strstr(reason, "stuck-task[42]"));
		json_decref(st);
	}
}

/* An unclean restart soon after a load blocks the patch until it is cleared. */
static void test_crash_loop_guard(void **state)
{
	struct fake *f = *state;
	struct agent *a;
	unsigned n;
	char res[64];

	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "loaded");
	/* the node crashes; the next boot starts 20 s after the load */
	boot(f, "boot-b\n", f->now + 20);
	f->now += 40;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "none");
	assert_int_equal(f->loads, 1);
	assert_int_equal(n_blocked(f), 1);
	a = open_agent(f, 0);
	assert_int_equal(agent_clear(a, LP, &n), 0);
	assert_int_equal(n, 1);
	agent_free(a);
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "loaded");
	assert_int_equal(f->loads, 2);
	/* a clean stop, then a restart: not blocked */
	a = open_agent(f, 0);
	assert_int_equal(agent_record_clean_stop(a), 0);
	agent_free(a);
	boot(f, "boot-c\n", f->now + 10);
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "loaded");
	assert_int_equal(n_blocked(f), 0);
	/* a restart long after the load: not blocked */
	boot(f, "boot-d\n", f->now + 3600);
	f->now += 3700;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "loaded");
	assert_int_equal(n_blocked(f), 0);
	/* ... unless a pstore record names the module */
	put(f, "/sys/fs/pstore/dmesg-ramoops-0", "Oops ... [tt_lp_test]\n");
	boot(f, "boot-e\n", f->now + 7200);
	f->now += 7300;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "none");
	assert_int_equal(n_blocked(f), 1);
}

/* SIGKILL between the intent and the load: the same boot retries, a new boot blocks it. */
static void test_kill_between_intent_and_load(void **state)
{
	struct fake *f = *state;
	char res[64];
	json_t *st;
	pid_t pid;
	int ws;

	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	for (unsigned round = 0; round < 2; round++) {
		f->die_on_load = true;
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			check(f, res);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &ws, 0), pid);
		assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
		f->die_on_load = false;
		/* the intent survived the kill */
		st = status(f);
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(st, "intent"), "livepatch")),
				    LP);
		json_decref(st);
		if (round == 0) {
			/* same boot: nothing crashed, the load is simply done again */
			assert_int_equal(check(f, res), 0);
			assert_string_equal(res, "loaded");
			assert_int_equal(n_blocked(f), 0);
			/* start over without the patch, for round 1 */
			rm_under(f, "/sys/kernel/livepatch/" LP);
			boot(f, "boot-x\n", f->now + 3600);
			f->now += 3700;
			assert_int_equal(check(f, res), 0);
			assert_string_equal(res, "loaded");
			rm_under(f, "/sys/kernel/livepatch/" LP);
			{
				/* forget the load so the next check loads again */
				struct agent *a = open_agent(f, 0);

				assert_int_equal(agent_revert(a, LP, "test"), 0);
				assert_int_equal(agent_clear(a, NULL, NULL), 0);
				agent_free(a);
			}
		} else {
			/* the node went down during the load: blocked */
			boot(f, "boot-y\n", f->now + 10);
			assert_int_equal(check(f, res), 0);
			assert_string_equal(res, "none");
			assert_int_equal(n_blocked(f), 1);
		}
	}
}

static json_t *post_at(struct fake *f, size_t i, const char *want_path)
{
	json_t *p = json_array_get(f->posts, i);

	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "path")), want_path);
	return json_object_get(p, "body");
}

/*
 * The heartbeat body from a status document: enabled patches only; the agent's own with its
 * module's SHA-256, others (or one whose digest is not 64 lowercase hex) by name only.
 */
static void test_heartbeat_body(void **state)
{
	const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *bad = strdup(sha), *long_name = calloc(1, 301);
	json_t *st, *hb, *ps;

	(void)state;
	bad[3] = 'A';
	memset(long_name, 'x', 300);
	st = json_pack("{s:{s:s}, s:s, s:[{s:s, s:b, s:s}, {s:s, s:b}, {s:s, s:b, s:s},"
		       " {s:s, s:b, s:s}, {s:s, s:b, s:s}, {s:s, s:b, s:s}]}",
		       "kernel", "release", RELEASE, "effective_release", RELEASE "+x", "patches",
		       "name", "ours", "enabled", 1, "sha256", sha,
		       "name", "hand_loaded", "enabled", 1,
		       "name", "disabled", "enabled", 0, "sha256", sha,
		       "name", "upper", "enabled", 1, "sha256", bad,
		       "name", "short", "enabled", 1, "sha256", "abc",
		       "name", long_name, "enabled", 1, "sha256", sha);
	assert_non_null(st);
	hb = agent_heartbeat_from_status(st, 77);
	assert_non_null(hb);
	ps = json_object_get(hb, "patches");
	assert_int_equal(json_array_size(ps), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 0), "name")),
			    "ours");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 0), "sha256")),
			    sha);
	assert_string_equal(json_string_value(json_array_get(ps, 1)), "hand_loaded");
	assert_string_equal(json_string_value(json_array_get(ps, 2)), "upper");
	assert_string_equal(json_string_value(json_array_get(ps, 3)), "short");
	/* cut to the server's cap, and then it is not the module's name: no digest */
	assert_true(json_is_string(json_array_get(ps, 4)));
	assert_int_equal(strlen(json_string_value(json_array_get(ps, 4))), 256);
	assert_string_equal(json_string_value(json_object_get(hb, "effective_version")),
			    RELEASE "+x");
	assert_int_equal(json_integer_value(json_object_get(hb, "uptime")), 77);
	json_decref(hb);
	json_decref(st);
	free(bad);
	free(long_name);
}

/* A server configured: a heartbeat each poll; events kept while it is away, then sent. */
static void test_server_reports(void **state)
{
	struct fake *f = *state;
	struct agent *a;
	json_t *b;
	char res[64];

	f->cfg.server_url = strdup("https://server.test");
	f->cfg.server_token_file = strdup("/nonexistent/token");
	put(f, "/proc/uptime", "1234.56 100.00\n");
	add_module(f, getenv("KO_TEST"), RELEASE, "CVE-2024-0001", f->now - 30);
	/* the server is away while a transition stalls: the event is kept */
	f->stall = true;
	f->post_fail = true;
	put(f, "/proc/42/patch_state", "0\n");
	put(f, "/proc/42/comm", "stuck-task\n");
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "reverted");
	assert_int_equal(json_array_size(f->posts), 1); /* the heartbeat failed: nothing more */
	post_at(f, 0, "/v1/fleet/heartbeat");
	/* back: heartbeat, then the event; no "ok" while a patch is blocked */
	f->post_fail = false;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "none");
	assert_int_equal(json_array_size(f->posts), 3);
	b = post_at(f, 1, "/v1/fleet/heartbeat");
	assert_string_equal(json_string_value(json_object_get(b, "kernel")), RELEASE);
	assert_string_equal(json_string_value(json_object_get(b, "effective_version")), RELEASE);
	assert_int_equal(json_integer_value(json_object_get(b, "uptime")), 1234);
	assert_int_equal(json_array_size(json_object_get(b, "patches")), 0);
	b = post_at(f, 2, "/v1/fleet/status");
	assert_string_equal(json_string_value(json_object_get(b, "event")), "transition-stalled");
	assert_string_equal(json_string_value(json_object_get(b, "patch")), LP);
	assert_non_null(strstr(json_string_value(json_object_get(b, "detail")), "stuck-task[42]"));
	/* cleared and loaded: the heartbeat lists the patch, and "ok" clears the error */
	a = open_agent(f, 0);
	assert_int_equal(agent_clear(a, NULL, NULL), 0);
	agent_free(a);
	f->stall = false;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "loaded");
	assert_int_equal(json_array_size(f->posts), 5);
	b = post_at(f, 3, "/v1/fleet/heartbeat");
	{
		/* the agent loaded it: its name and its module's SHA-256, which the server
		 * matches against the modules its jobs wrote */
		json_t *hp = json_array_get(json_object_get(b, "patches"), 0);
		char sha[65];

		assert_int_equal(ar_file_sha256(getenv("KO_TEST"), sha), 0);
		assert_string_equal(json_string_value(json_object_get(hp, "name")), LP);
		assert_string_equal(json_string_value(json_object_get(hp, "sha256")), sha);
		assert_int_equal(json_object_size(hp), 2);
	}
	assert_string_equal(json_string_value(json_object_get(b, "effective_version")),
			    RELEASE "+" LP);
	b = post_at(f, 4, "/v1/fleet/status");
	assert_string_equal(json_string_value(json_object_get(b, "event")), "ok");
	/* nothing new: a heartbeat only */
	assert_int_equal(check(f, res), 0);
	assert_int_equal(json_array_size(f->posts), 6);
	post_at(f, 5, "/v1/fleet/heartbeat");
	/* an unclean restart is an event of its own */
	boot(f, "boot-b\n", f->now + 20);
	f->now += 40;
	assert_int_equal(check(f, res), 0);
	assert_string_equal(res, "none");
	b = post_at(f, 7, "/v1/fleet/status");
	assert_string_equal(json_string_value(json_object_get(b, "event")), "unclean-reboot");
}

static void test_config_errors(void **state)
{
	struct fake *f = *state;
	static const char *const bad[][2] = {
		{"interval = soon\n", "'interval': 'soon' is not a duration"},
		{"archive_url = ftp://x\n", "'archive_url' must be an http"},
		{"\n\nstate_dir = relative\n", "line 3: 'state_dir' must be an absolute path"},
		{"colour = blue\n", "unknown key 'colour'"},
		{"just words\n", "expected 'key = value'"},
		{"server_url = http://x\nserver_token_file = /t\n", "must be an https:// URL"},
		{"server_url = https://x\n", "'server_url' is set but 'server_token_file' is not"},
		{"server_ca = ca.pem\n", "'server_ca' must be an absolute path"},
	};
	char *conf = strdup_printf("%s/bad.conf", f->dir);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct agent_config c;

		assert_int_equal(write_file_atomic(conf, bad[i][0], strlen(bad[i][0]), 0644), 0);
		assert_int_equal(agent_config_load(conf, &c), -EINVAL);
	}
	free(conf);
}

static void log_stderr(enum tt_log_level level, const char *msg, void *userdata)
{
	fprintf(stderr, "agent: %s\n", msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_status_vex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_kernel_not_chosen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_ko, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_timestamp, setup, teardown),
		cmocka_unit_test(test_kmsg_parse),
		cmocka_unit_test_setup_teardown(test_kmsg_warning_reverts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kmsg_later_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transition_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_loop_guard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_between_intent_and_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test(test_heartbeat_body),
		cmocka_unit_test_setup_teardown(test_server_reports, setup, teardown),
	};

	if (!getenv("KO_TEST") || !getenv("KO_OTHER")) {
		fprintf(stderr, "KO_TEST and KO_OTHER must name the fixture modules\n");
		return 1;
	}
	if (getenv("TEST_AGENT_VERBOSE"))
		tt_log_set(log_stderr, NULL, TT_LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

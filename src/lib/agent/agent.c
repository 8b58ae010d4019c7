/*
 * The agent's poll, load, transition, kmsg watch, revert and crash-loop guard. Every change
 * of what the node runs is written to the state file (durably) before it happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/kmsg.h"
#include "agent/state.h"
#include "archive/modinfo.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "tuf/client.h"
#include "tuf/metadata.h"
#include "banned.h"

#define POLL_STEP_MS 100
#define KMSG_BUF 16384
#define STALLED_TASKS_MAX 8
#define REPORT_PENDING_MAX 32
#define REPORT_DETAIL_MAX 4096

struct agent {
	const struct agent_config *cfg;
	struct agent_ops ops;
	unsigned flags;
	struct agent_kernel k;
	json_t *state;
	char *tuf_dir, *modules_dir;
	/* the kmsg watch of the patch the agent loaded */
	int kmsg_fd;
	bool kmsg_is_file; /* a regular file (tests): poll(2) would always say readable */
	char kmsg_buf[KMSG_BUF];
	size_t kmsg_have;
	struct agent_kmsg_watch watch;
	json_t *watch_funcs;
	const char **watch_func_ptrs;
	char *watch_module;
	bool blamed;
	char blame[AGENT_KMSG_REASON_MAX + 1];
	uint64_t kmsg_seq;
	unsigned events_queued; /* status events for the server, since agent_new() */
};

/* The real world. */

static int real_load(void *userdata, int fd, const char *name)
{
	return syscall(SYS_finit_module, fd, "", 0) < 0 ? negative_errno() : 0;
}

static int real_unload(void *userdata, const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) < 0 ? negative_errno() : 0;
}

static void real_sleep_ms(void *userdata, unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t real_now_ms(void *userdata)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static long long wall_now(const struct agent *a)
{
	return a->ops.now ? (long long)a->ops.now : (long long)time(NULL);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int state_save(struct agent *a)
{
	if (a->flags & AGENT_READ_ONLY)
		return 0;
	return agent_state_save(a->cfg->state_dir, a->state);
}

static void note_error(struct agent *a, const char *fmt, ...) _printf_(2, 3);
static void note_error(struct agent *a, const char *fmt, ...)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	log_error("%s", strbuf_str(&sb));
	agent_state_add_error(a->state, wall_now(a), strbuf_str(&sb));
}

static bool is_blocked(const struct agent *a, const char *sha256)
{
	json_t *b = json_object_get(a->state, "blocked"), *v;
	size_t i;

	json_array_foreach(b, i, v)
		if (streq_ptr(jstr(v, "sha256"), sha256))
			return true;
	return false;
}

/* Queues a status event for the server (agent_report() sends it); nothing without a server. */
static void event_queue(struct agent *a, const char *event, const char *patch, const char *detail)
{
	json_t *q = json_object_get(a->state, "report_pending"), *ev;

	if (!a->cfg->server_url || !event)
		return;
	if (!json_is_array(q)) {
		q = json_array();
		if (!q || json_object_set_new(a->state, "report_pending", q) < 0)
			return;
	}
	/* A server away for long gets the latest events, not the first ones. */
	while (json_array_size(q) >= REPORT_PENDING_MAX)
		json_array_remove(q, 0);
	ev = json_pack("{s:s}", "event", event);
	if (!ev)
		return;
	if (patch)
		json_object_set_new(ev, "patch", json_stringn(patch, strnlen(patch, 256)));
	if (detail)
		json_object_set_new(ev, "detail",
				    json_stringn(detail, strnlen(detail, REPORT_DETAIL_MAX)));
	json_array_append_new(q, ev);
	if (!streq(event, "ok"))
		json_object_set_new(a->state, "report_error", json_true());
	a->events_queued++;
}

/* Blocks the patch ENTRY (a "loaded"/"intent" object) with REASON. */
static int block(struct agent *a, const json_t *entry, const char *reason)
{
	json_t *b = json_object_get(a->state, "blocked");

	if (!entry || is_blocked(a, jstr(entry, "sha256")))
		return 0;
	if (!json_is_array(b)) {
		b = json_array();
		if (!b || json_object_set_new(a->state, "blocked", b) < 0)
			return -ENOMEM;
	}
	log_warn("'%s' (%s) blocked: %s", strempty(jstr(entry, "livepatch")),
		 strempty(jstr(entry, "target")), reason);
	event_queue(a, agent_event_for_reason(reason), jstr(entry, "livepatch"), reason);
	return json_array_append_new(b, json_pack("{s:s?, s:s?, s:s?, s:s, s:o}", "target",
						  jstr(entry, "target"), "livepatch",
						  jstr(entry, "livepatch"), "sha256",
						  jstr(entry, "sha256"), "reason", reason, "at",
						  agent_json_time(wall_now(a)))) < 0
		       ? -ENOMEM
		       : 0;
}

/* The crash-loop guard, run once per boot: what the previous boot left says what to refuse. */
static int judge_new_boot(struct agent *a)
{
	const char *prev = jstr(a->state, "boot_id");
	json_t *intent = json_object_get(a->state, "intent");
	json_t *last = json_object_get(a->state, "last_load");
	const char *clean = jstr(a->state, "clean_stop");
	_cleanup_free_ char *reason = NULL;

	if (prev && streq(prev, a->k.boot_id))
		return 0;
	if (prev) {
		if (json_is_object(intent)) {
			reason = strdup_printf("the node restarted while it was being loaded "
					       "(boot %s)",
					       prev);
			block(a, intent, reason ? reason : "restarted while loading");
		}
		if (json_is_object(last) && streq_ptr(jstr(last, "boot_id"), prev)) {
			long long at = json_integer_value(json_object_get(last, "at_epoch"));
			long long boot = a->k.boot_time ? (long long)a->k.boot_time : wall_now(a);
			_cleanup_free_ char *record = NULL;

			if (agent_pstore_find(a->cfg->sysroot, strempty(jstr(last, "livepatch")),
					      &record) == 0 &&
			    record) {
				free(reason);
				reason = strdup_printf("pstore record '%s' names it", record);
				block(a, last, reason ? reason : "a pstore record names it");
			} else if (!streq_ptr(clean, prev) && boot - at <= a->cfg->crash_window_s) {
				free(reason);
				reason = strdup_printf("the node restarted uncleanly %llds after it "
						       "was loaded (no clean stop recorded in boot "
						       "%s)",
						       boot - at, prev);
				block(a, last, reason ? reason : "unclean restart after loading");
			}
		}
	}
	/* Nothing of the previous boot is loaded any more. */
	json_object_del(a->state, "intent");
	json_object_del(a->state, "loaded");
	json_object_del(a->state, "clean_stop");
	json_object_set_new(a->state, "boot_id", json_string(a->k.boot_id));
	return state_save(a);
}

int agent_new(const struct agent_config *cfg, const struct agent_ops *ops, unsigned flags,
	      struct agent **ret)
{
	struct agent *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->cfg = cfg;
	a->flags = flags;
	a->kmsg_fd = -1;
	if (ops)
		a->ops = *ops;
	if (!a->ops.load)
		a->ops.load = real_load;
	if (!a->ops.unload)
		a->ops.unload = real_unload;
	if (!a->ops.sleep_ms)
		a->ops.sleep_ms = real_sleep_ms;
	if (!a->ops.now_ms)
		a->ops.now_ms = real_now_ms;
	a->tuf_dir = path_join(cfg->state_dir, "tuf");
	a->modules_dir = path_join(cfg->state_dir, "modules");
	if (!a->tuf_dir || !a->modules_dir) {
		r = -ENOMEM;
		goto fail;
	}
	r = agent_kernel_identify(cfg->sysroot, &a->k);
	if (r < 0)
		goto fail;
	r = agent_state_load(cfg->state_dir, &a->state);
	if (r < 0)
		goto fail;
	if (!(flags & AGENT_READ_ONLY)) {
		r = judge_new_boot(a);
		if (r < 0)
			goto fail;
	}
	*ret = a;
	return 0;
fail:
	agent_free(a);
	return r;
}

static void watch_reset(struct agent *a)
{
	json_decref(a->watch_funcs);
	free(a->watch_func_ptrs);
	free(a->watch_module);
	a->watch_funcs = NULL;
	a->watch_func_ptrs = NULL;
	a->watch_module = NULL;
	memset(&a->watch, 0, sizeof(a->watch));
	a->blamed = false;
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	watch_reset(a);
	if (a->kmsg_fd >= 0)
		close(a->kmsg_fd);
	agent_kernel_release(&a->k);
	json_decref(a->state);
	free(a->tuf_dir);
	free(a->modules_dir);
	free(a);
}

/* The kernel log. */

static void kmsg_record(const char *rec, size_t len, void *userdata)
{
	struct agent *a = userdata;
	struct agent_kmsg_rec r;

	if (agent_kmsg_parse(rec, len, &r) < 0)
		return;
	if (r.seq < a->kmsg_seq)
		return;
	a->kmsg_seq = r.seq + 1;
	if (a->blamed || !a->watch_module)
		return;
	if (agent_kmsg_watch_feed(&a->watch, &r, a->blame) == 1)
		a->blamed = true;
}

/* Opens the kernel log; FROM_END: only what is logged from now on. */
static int kmsg_open(struct agent *a, bool from_end)
{
	_cleanup_free_ char *p = strdup_printf("%s/dev/kmsg", a->cfg->sysroot);
	struct stat st;

	if (!p)
		return -ENOMEM;
	if (a->kmsg_fd >= 0)
		return 0;
	a->kmsg_fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (a->kmsg_fd < 0)
		return log_warn_errno(negative_errno(), "cannot read '%s': kernel warnings will "
							"not be watched",
				      p);
	a->kmsg_is_file = fstat(a->kmsg_fd, &st) == 0 && S_ISREG(st.st_mode);
	a->kmsg_have = 0;
	if (from_end && !a->kmsg_is_file)
		lseek(a->kmsg_fd, 0, SEEK_END);
	return 0;
}

/* Reads every record available now; 1 when one blamed the watched patch. */
static int kmsg_drain(struct agent *a)
{
	if (a->kmsg_fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(a->kmsg_fd, a->kmsg_buf + a->kmsg_have,
				 sizeof(a->kmsg_buf) - a->kmsg_have);
		size_t used;

		if (n < 0 && errno == EPIPE)
			continue; /* records were overwritten before we read them */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		a->kmsg_have += (size_t)n;
		used = agent_kmsg_split(a->kmsg_buf, a->kmsg_have, kmsg_record, a);
		if (used == 0 && a->kmsg_have == sizeof(a->kmsg_buf))
			used = a->kmsg_have; /* a record longer than the buffer: dropped */
		memmove(a->kmsg_buf, a->kmsg_buf + used, a->kmsg_have - used);
		a->kmsg_have -= used;
	}
	return a->blamed ? 1 : 0;
}

/* Watches the kernel log for LOADED (a "loaded" state object). */
static int watch_set(struct agent *a, const json_t *loaded)
{
	json_t *funcs = json_object_get(loaded, "functions"), *v;
	size_t i;

	watch_reset(a);
	if (!loaded)
		return 0;
	a->watch_module = strdup(strempty(jstr(loaded, "livepatch")));
	a->watch_funcs = json_incref(funcs);
	a->watch_func_ptrs = calloc(json_array_size(funcs) + 1, sizeof(char *));
	if (!a->watch_module || !a->watch_func_ptrs)
		return -ENOMEM;
	json_array_foreach(funcs, i, v)
		if (json_string_value(v))
			a->watch_func_ptrs[a->watch.n_funcs++] = json_string_value(v);
	a->watch.module = a->watch_module;
	a->watch.funcs = a->watch_func_ptrs;
	return 0;
}

/* Transitions and reverts. */

static int klp_wait_gone(struct agent *a, const char *name)
{
	uint64_t start = a->ops.now_ms(a->ops.userdata);
	uint64_t limit = (uint64_t)a->cfg->transition_timeout_s * 1000;
	bool signalled = false;

	for (;;) {
		struct agent_klp k = {};
		uint64_t el;
		int r = agent_klp_read(a->cfg->sysroot, name, &k);

		if (r == -ENOENT)
			return 0;
		if (r == 0)
			agent_klp_release(&k);
		el = a->ops.now_ms(a->ops.userdata) - start;
		if (!signalled && el >= (uint64_t)a->cfg->signal_after_s * 1000) {
			agent_klp_write(a->cfg->sysroot, name, "signal", "1");
			signalled = true;
		}
		if (el >= limit)
			return -ETIMEDOUT;
		a->ops.sleep_ms(a->ops.userdata, POLL_STEP_MS);
	}
}

static void unload_module(struct agent *a, const char *name)
{
	int r = -EAGAIN;

	/* The module's references drop a moment after its livepatch is gone. */
	for (unsigned i = 0; i < 50 && (r == -EAGAIN || r == -EBUSY); i++) {
		r = a->ops.unload(a->ops.userdata, name);
		if (r == -EAGAIN || r == -EBUSY)
			a->ops.sleep_ms(a->ops.userdata, POLL_STEP_MS);
	}
	if (r < 0 && r != -ENOENT)
		log_warn("cannot unload module '%s': %s", name, strerror(-r));
}

/* Disables NAME, waits for it to go, unloads it; ENTRY (may be NULL) is blocked with REASON. */
static int do_revert(struct agent *a, const char *name, const json_t *entry, const char *reason)
{
	json_t *loaded = json_object_get(a->state, "loaded");
	int r;

	note_error(a, "reverting '%s': %s", name, reason);
	if (entry) {
		r = block(a, entry, reason);
		if (r < 0)
			return r;
	}
	if (loaded && streq_ptr(jstr(loaded, "livepatch"), name)) {
		json_object_del(a->state, "loaded");
		watch_reset(a);
	}
	/* The intent to revert is on disk before the kernel is touched. */
	r = state_save(a);
	if (r < 0)
		return r;
	r = agent_klp_write(a->cfg->sysroot, name, "enabled", "0");
	if (r < 0 && r != -ENOENT)
		return log_error_errno(r, "cannot disable livepatch '%s': %s", name, strerror(-r));
	r = klp_wait_gone(a, name);
	if (r < 0)
		return log_error_errno(r, "livepatch '%s' is still unpatching after %us", name,
				       a->cfg->transition_timeout_s);
	unload_module(a, name);
	return 0;
}

/*
 * Follows NAME's transition to enabled. 0 done; -ETIMEDOUT stalled (REASON says which tasks),
 * -EIO the kernel log blamed it (REASON), -ENOENT it went away.
 */
static int follow_transition(struct agent *a, const char *name, struct strbuf *reason)
{
	uint64_t start = a->ops.now_ms(a->ops.userdata);
	uint64_t signal_at = (uint64_t)a->cfg->signal_after_s * 1000;
	uint64_t limit = (uint64_t)a->cfg->transition_timeout_s * 1000;
	unsigned signals = 0;

	for (;;) {
		struct agent_klp k = {};
		uint64_t el;
		int r;

		if (kmsg_drain(a) == 1) {
			strbuf_addf(reason, "kernel log: %s", a->blame);
			return -EIO;
		}
		r = agent_klp_read(a->cfg->sysroot, name, &k);
		if (r == -ENOENT) {
			strbuf_addf(reason, "livepatch '%s' went away during its transition", name);
			return -ENOENT;
		}
		if (r < 0)
			return r;
		agent_klp_release(&k);
		if (!k.transition && k.enabled)
			return 0;
		el = a->ops.now_ms(a->ops.userdata) - start;
		if (el >= limit) {
			json_t *tasks = NULL, *v;
			size_t i;

			strbuf_addf(reason, "transition did not finish in %us (tasks signalled %u "
					    "times)",
				    a->cfg->transition_timeout_s, signals);
			if (agent_klp_stalled_tasks(a->cfg->sysroot, 1, STALLED_TASKS_MAX, &tasks) ==
				    0 &&
			    json_array_size(tasks)) {
				strbuf_adds(reason, "; still unpatched:");
				json_array_foreach(tasks, i, v)
					strbuf_addf(reason, " %s[%lld]", jstr(v, "comm"),
						    (long long)json_integer_value(
							    json_object_get(v, "pid")));
			}
			json_decref(tasks);
			return -ETIMEDOUT;
		}
		/* Signal at signal_after, then again each signal_after until the timeout. */
		if (signal_at && el >= signal_at * (signals + 1)) {
			log_info("livepatch '%s': transition stalled for %llus, signalling the "
				 "tasks it waits for",
				 name, (unsigned long long)(el / 1000));
			agent_klp_write(a->cfg->sysroot, name, "signal", "1");
			signals++;
		}
		a->ops.sleep_ms(a->ops.userdata, POLL_STEP_MS);
	}
}

/* Watches the kernel log for MS milliseconds; 1 when it blamed the patch. */
static int settle(struct agent *a, unsigned ms)
{
	uint64_t start = a->ops.now_ms(a->ops.userdata);

	for (;;) {
		if (kmsg_drain(a) == 1)
			return 1;
		if (a->ops.now_ms(a->ops.userdata) - start >= ms)
			return 0;
		a->ops.sleep_ms(a->ops.userdata, POLL_STEP_MS);
	}
}

/* Choosing and verifying. */

static int tuf_open(struct agent *a, struct tuf_client **ret)
{
	_cleanup_free_ char *root = path_join(a->tuf_dir, "root.json");
	_cleanup_free_ char *murl = NULL;
	struct tuf_client_opts o = {};
	int r;

	if (!a->cfg->archive_url)
		return log_error_errno(-EINVAL, "'%s': no 'archive_url' set",
				       a->cfg->path ? a->cfg->path : "configuration");
	if (!root)
		return -ENOMEM;
	if (access(root, F_OK) < 0) {
		if (!a->cfg->trusted_root)
			return log_error_errno(-EINVAL,
					       "'%s': no 'trusted_root' set, and '%s' does not "
					       "exist",
					       a->cfg->path ? a->cfg->path : "configuration", root);
		r = mkdir_p(a->tuf_dir, 0700);
		if (r < 0)
			return r;
		r = tuf_client_init(a->tuf_dir, a->cfg->trusted_root);
		if (r < 0)
			return log_error_errno(r, "cannot trust '%s' (trusted_root): %s",
					       a->cfg->trusted_root, strerror(-r));
	}
	murl = strdup_printf("%s/metadata/", a->cfg->archive_url);
	if (!murl)
		return -ENOMEM;
	o.metadata_dir = a->tuf_dir;
	o.metadata_url = murl;
	o.fetch = a->ops.fetch;
	o.fetch_userdata = a->ops.fetch_userdata;
	o.now = a->ops.now;
	o.http.connect_timeout_s = 10;
	o.http.timeout_s = 120;
	return tuf_client_new(&o, ret);
}

/* The newest target of this kernel that is not blocked: by custom.added, then path. */
static int choose(struct agent *a, json_t *targets, const char **ret_path, json_t **ret_info)
{
	const char *path, *best = NULL, *best_added = "";
	json_t *info, *best_info = NULL;
	size_t plen;

	json_object_foreach(targets, path, info) {
		json_t *custom = json_object_get(info, "custom");
		const char *added = strempty(jstr(custom, "added"));
		const char *sha = jstr(json_object_get(info, "hashes"), "sha256");

		plen = strlen(path);
		if (plen < 4 || !streq(path + plen - 3, ".ko"))
			continue;
		if (!streq_ptr(jstr(custom, "kernel"), a->k.release)) {
			log_debug("'%s' is for kernel '%s', not '%s'", path,
				  strempty(jstr(custom, "kernel")), a->k.release);
			continue;
		}
		if (!sha || is_blocked(a, sha)) {
			log_info("'%s' is blocked (tuxtape-agent clear)", path);
			continue;
		}
		if (!best || strcmp(added, best_added) > 0 ||
		    (strcmp(added, best_added) == 0 && strcmp(path, best) > 0)) {
			best = path;
			best_added = added;
			best_info = info;
		}
	}
	*ret_path = best;
	*ret_info = best_info;
	return best ? 0 : -ENOENT;
}

static int read_fd_capped(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, alloc = 0;

	for (;;) {
		ssize_t n;

		if (len == alloc) {
			char *nb;

			if (alloc >= max)
				return -EFBIG;
			alloc = alloc ? MIN(alloc * 2, max) : 256 << 10;
			nb = realloc(buf, alloc);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, alloc - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int agent_module_verify(const struct agent_kernel *kern, int fd, const char *target,
			const json_t *info, struct strbuf *why)
{
	json_t *custom = json_object_get(info, "custom");
	_cleanup_free_ char *buf = NULL, *rel = NULL;
	struct ar_modinfo mi = {};
	size_t len;
	int r;

	r = read_fd_capped(fd, AR_KO_MAX, &buf, &len);
	if (r < 0)
		return strbuf_addf(why, "cannot read it: %s", strerror(-r)), -EBADMSG;
	lseek(fd, 0, SEEK_SET);
	json_int_t length = json_integer_value(json_object_get(info, "length"));
	if (tuf_check_length_hashes(buf, len, length, json_object_get(info, "hashes")) < 0)
		return strbuf_adds(why, "its length or SHA-256 differs from the signed metadata"),
		       -EBADMSG;
	r = ar_modinfo_parse(target, buf, len, &mi);
	if (r < 0)
		return strbuf_addf(why, "no readable .modinfo: %s", strerror(-r)), -EBADMSG;
	if (!mi.livepatch) {
		strbuf_adds(why, "it is not a livepatch module (no livepatch=Y)");
		r = -EBADMSG;
	} else if (!mi.vermagic || !(rel = ar_vermagic_release(mi.vermagic)) ||
		   !streq(rel, kern->release)) {
		strbuf_addf(why, "it is built for kernel '%s', this is '%s'", strempty(rel),
			    kern->release);
		r = -EBADMSG;
	} else if (!streq_ptr(jstr(custom, "vermagic"), mi.vermagic)) {
		strbuf_addf(why, "its vermagic '%s' is not the signed '%s'", mi.vermagic,
			    strempty(jstr(custom, "vermagic")));
		r = -EBADMSG;
	} else if (jstr(custom, "livepatch") && !streq_ptr(jstr(custom, "livepatch"), mi.name)) {
		strbuf_addf(why, "its name '%s' is not the signed '%s'", strempty(mi.name),
			    jstr(custom, "livepatch"));
		r = -EBADMSG;
	} else if (jstr(custom, "build_id") && !streq_ptr(jstr(custom, "build_id"), kern->build_id)) {
		strbuf_addf(why, "it is for build ID %s, this kernel is %s",
			    jstr(custom, "build_id"), kern->build_id ? kern->build_id : "unknown");
		r = -EBADMSG;
	}
	ar_modinfo_release(&mi);
	return r;
}

static json_t *entry_new(struct agent *a, const char *target, const json_t *info)
{
	json_t *custom = json_object_get(info, "custom");
	json_t *cves = json_object_get(custom, "cves");
	long long now = wall_now(a);

	return json_pack("{s:s, s:s?, s:s?, s:O, s:s, s:I, s:o}", "target", target, "livepatch",
			 jstr(custom, "livepatch"), "sha256",
			 jstr(json_object_get(info, "hashes"), "sha256"), "cves",
			 json_is_array(cves) ? cves : json_array(), "boot_id", a->k.boot_id,
			 "at_epoch", (json_int_t)now, "at", agent_json_time(now));
}

static int report(json_t **ret, const char *result, const char *target, const char *reason)
{
	if (!ret)
		return 0;
	*ret = json_pack("{s:s, s:s?, s:s?}", "result", result, "target", target, "reason",
			 reason);
	return *ret ? 0 : -ENOMEM;
}

/* Loads ENTRY's module from FD and follows it until it is enabled, or reverts it. */
static int load_and_follow(struct agent *a, int fd, json_t *entry, json_t **ret_report)
{
	_cleanup_strbuf_ struct strbuf why = STRBUF_INIT;
	const char *name = jstr(entry, "livepatch");
	const char *target = jstr(entry, "target");
	json_t *prev = json_object_get(a->state, "loaded");
	_cleanup_free_ char *prev_name = NULL;
	struct agent_klp k = {};
	int r;

	if (prev && jstr(prev, "livepatch") && !streq_ptr(jstr(prev, "livepatch"), name))
		prev_name = strdup(jstr(prev, "livepatch"));
	/* The intent is on disk before the kernel sees the module: see judge_new_boot(). */
	json_object_set(a->state, "intent", entry);
	r = state_save(a);
	if (r < 0)
		return r;
	kmsg_open(a, true);
	kmsg_drain(a);
	r = a->ops.load(a->ops.userdata, fd, name);
	if (r == -EEXIST && agent_klp_read(a->cfg->sysroot, name, &k) == -ENOENT) {
		/* A module whose livepatch a newer one replaced stays loaded but can never be
		 * enabled again: it must be unloaded and loaded anew. */
		log_info("'%s' is loaded but replaced; loading it anew", name);
		unload_module(a, name);
		r = a->ops.load(a->ops.userdata, fd, name);
	} else if (r == -EEXIST) {
		agent_klp_release(&k);
		log_info("'%s' is loaded already", name);
		r = 0;
	}
	if (r < 0) {
		_cleanup_free_ char *reason = strdup_printf("the kernel refused it: %s",
							    strerror(-r));

		json_object_del(a->state, "intent");
		note_error(a, "cannot load '%s': %s", target, strerror(-r));
		block(a, entry, reason ? reason : "the kernel refused it");
		state_save(a);
		return report(ret_report, "refused", target, reason);
	}
	/* Watch what the kernel says about it from the first line of the transition. */
	if (agent_klp_read(a->cfg->sysroot, name, &k) == 0) {
		json_object_set(entry, "functions", k.functions);
		agent_klp_release(&k);
	}
	watch_set(a, entry);
	r = follow_transition(a, name, &why);
	if (r == 0 && a->cfg->settle_s && settle(a, a->cfg->settle_s * 1000) == 1) {
		strbuf_addf(&why, "kernel log: %s", a->blame);
		r = -EIO;
	}
	if (r < 0) {
		json_object_del(a->state, "intent");
		if (!why.len)
			strbuf_addf(&why, "%s", strerror(-r));
		do_revert(a, name, entry, strbuf_str(&why));
		/* An atomic replace that completed took the previous patch away with it. */
		if (prev_name && agent_klp_read(a->cfg->sysroot, prev_name, &k) == -ENOENT) {
			json_object_del(a->state, "loaded");
			unload_module(a, prev_name);
		} else if (prev_name)
			agent_klp_release(&k);
		json_object_set(a->state, "last_load", entry);
		state_save(a);
		return report(ret_report, "reverted", target, strbuf_str(&why));
	}
	json_object_set_new(entry, "kmsg_seq", json_integer((json_int_t)a->kmsg_seq));
	json_object_set(a->state, "loaded", entry);
	json_object_set(a->state, "last_load", entry);
	json_object_del(a->state, "intent");
	r = state_save(a);
	if (r < 0)
		return r;
	/* Atomic replace disabled the previous patch; its module can go now. */
	if (prev_name && agent_klp_read(a->cfg->sysroot, prev_name, &k) == -ENOENT)
		unload_module(a, prev_name);
	log_info("'%s' (%s) is loaded and enabled", name, target);
	return report(ret_report, "loaded", target, NULL);
}

/* A load that a SIGKILL interrupted in this boot: adopt it if the kernel has it, else retry. */
static int resume_intent(struct agent *a)
{
	json_t *intent = json_object_get(a->state, "intent");
	struct agent_klp k = {};

	if (!json_is_object(intent))
		return 0;
	if (agent_klp_read(a->cfg->sysroot, strempty(jstr(intent, "livepatch")), &k) == 0) {
		json_object_set(intent, "functions", k.functions);
		agent_klp_release(&k);
		log_info("'%s' was loaded by an interrupted run; following it",
			 jstr(intent, "livepatch"));
		return 1;
	}
	json_object_del(a->state, "intent");
	return 0;
}

static int record_check(struct agent *a, const char *result)
{
	long long now = wall_now(a);

	json_object_set_new(a->state, "last_check", agent_json_time(now));
	json_object_set_new(a->state, "last_check_epoch", json_integer(now));
	json_object_set_new(a->state, "last_check_result", json_string(result));
	return state_save(a);
}

/* Reads the kernel log since the last look: a report blaming the loaded patch reverts it. */
static int watch_loaded(struct agent *a, json_t **ret_report)
{
	json_t *loaded = json_object_get(a->state, "loaded");
	_cleanup_free_ char *reason = NULL;
	json_t *copy;
	int r;

	if (!loaded)
		return 0;
	if (!a->watch_module) {
		watch_set(a, loaded);
		a->kmsg_seq = (uint64_t)json_integer_value(json_object_get(loaded, "kmsg_seq"));
		kmsg_open(a, false);
	}
	if (kmsg_drain(a) != 1) {
		json_object_set_new(loaded, "kmsg_seq", json_integer((json_int_t)a->kmsg_seq));
		return 0;
	}
	reason = strdup_printf("kernel log: %s", a->blame);
	copy = json_deep_copy(loaded);
	r = do_revert(a, jstr(copy, "livepatch"), copy, reason ? reason : "kernel log");
	if (r == 0)
		r = 1;
	if (ret_report)
		report(ret_report, "reverted", jstr(copy, "target"), reason);
	json_decref(copy);
	state_save(a);
	return r;
}

static int check_once(struct agent *a, json_t **ret_report)
{
	_cleanup_strbuf_ struct strbuf why = STRBUF_INIT;
	_cleanup_free_ char *prefix = NULL, *probe = NULL, *turl = NULL, *file = NULL;
	struct tuf_client *c = NULL;
	json_t *targets = NULL, *info, *loaded, *entry = NULL;
	const char *path;
	struct agent_klp k = {};
	int fd = -1, r;

	if (ret_report)
		*ret_report = NULL;
	r = watch_loaded(a, ret_report);
	if (r != 0) {
		record_check(a, r > 0 ? "reverted" : "error");
		return r > 0 ? 0 : r;
	}
	if (resume_intent(a) == 1) {
		entry = json_deep_copy(json_object_get(a->state, "intent"));
		watch_set(a, entry);
		kmsg_open(a, false);
		r = follow_transition(a, jstr(entry, "livepatch"), &why);
		if (r < 0) {
			json_object_del(a->state, "intent");
			do_revert(a, jstr(entry, "livepatch"), entry, strbuf_str(&why));
			record_check(a, "reverted");
			report(ret_report, "reverted", jstr(entry, "target"), strbuf_str(&why));
		} else {
			json_object_set(a->state, "loaded", entry);
			json_object_set(a->state, "last_load", entry);
			json_object_del(a->state, "intent");
			record_check(a, "loaded");
			report(ret_report, "loaded", jstr(entry, "target"), NULL);
		}
		json_decref(entry);
		return 0;
	}
	prefix = strdup_printf("%s/", a->k.release);
	probe = strdup_printf("%s/probe.ko", a->k.release);
	turl = strdup_printf("%s/targets/", strempty(a->cfg->archive_url));
	if (!prefix || !probe || !turl)
		return -ENOMEM;
	r = tuf_open(a, &c);
	if (r == 0)
		r = tuf_client_refresh(c);
	if (r == 0)
		r = tuf_client_list_targets(c, prefix, probe, &targets);
	if (r < 0) {
		note_error(a, "cannot refresh the archive '%s': %s", strempty(a->cfg->archive_url),
			   r == -EKEYEXPIRED ? "its metadata has expired" : strerror(-r));
		record_check(a, "error");
		tuf_client_free(c);
		return r;
	}
	r = choose(a, targets, &path, &info);
	if (r == -ENOENT) {
		r = record_check(a, "nothing for this kernel");
		report(ret_report, "none", NULL, NULL);
		goto out;
	}
	loaded = json_object_get(a->state, "loaded");
	if (loaded && streq_ptr(jstr(loaded, "sha256"),
				jstr(json_object_get(info, "hashes"), "sha256")) &&
	    agent_klp_read(a->cfg->sysroot, strempty(jstr(loaded, "livepatch")), &k) == 0) {
		agent_klp_release(&k);
		r = record_check(a, "up to date");
		report(ret_report, "up-to-date", path, NULL);
		goto out;
	}
	r = mkdir_p(a->modules_dir, 0700);
	if (r == 0)
		r = tuf_client_download_target(c, path, info, turl, a->modules_dir, &file);
	entry = entry_new(a, path, info);
	if (!entry) {
		r = -ENOMEM;
		goto out;
	}
	if (r < 0) {
		note_error(a, "cannot download '%s': %s", path,
			   r == -EBADMSG ? "its length or hashes differ from the signed metadata"
					 : strerror(-r));
		if (r != -EBADMSG) {
			record_check(a, "error");
			goto out;
		}
		/* Not blocked: the next poll may find a mirror that serves the signed bytes. */
		r = record_check(a, "refused");
		report(ret_report, "refused", path,
		       "its length or hashes differ from the signed metadata");
		goto out;
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = log_error_errno(negative_errno(), "cannot open '%s'", file);
		goto out;
	}
	r = agent_module_verify(&a->k, fd, path, info, &why);
	if (r < 0) {
		note_error(a, "refusing '%s': %s", path, strbuf_str(&why));
		block(a, entry, strbuf_str(&why));
		r = record_check(a, "refused");
		report(ret_report, "refused", path, strbuf_str(&why));
		goto out;
	}
	if (!jstr(entry, "livepatch")) {
		r = -EBADMSG;
		goto out;
	}
	r = load_and_follow(a, fd, entry, ret_report);
	if (r == 0)
		r = record_check(a, *ret_report ? jstr(*ret_report, "result") : "loaded");
out:
	if (fd >= 0)
		close(fd);
	json_decref(entry);
	json_decref(targets);
	tuf_client_free(c);
	return r;
}

int agent_check(struct agent *a, json_t **ret_report)
{
	unsigned queued = a->events_queued;
	int r = check_once(a, ret_report);

	if (r < 0) {
		json_t *errs = json_object_get(a->state, "errors");

		event_queue(a, "error", NULL,
			    jstr(json_array_get(errs, json_array_size(errs) - 1), "message"));
	} else if (a->events_queued == queued &&
		   json_is_true(json_object_get(a->state, "report_error"))) {
		const char *res = jstr(a->state, "last_check_result");

		/* Healthy again: the newest patch runs, or there is none and none is blocked. */
		if (streq_ptr(res, "loaded") || streq_ptr(res, "up to date") ||
		    (streq_ptr(res, "nothing for this kernel") &&
		     !json_array_size(json_object_get(a->state, "blocked")))) {
			event_queue(a, "ok", NULL, NULL);
			json_object_set_new(a->state, "report_error", json_false());
		}
	}
	agent_report(a);
	return r;
}

static long long uptime_s(const struct agent *a)
{
	_cleanup_free_ char *p = strdup_printf("%s/proc/uptime", a->cfg->sysroot);
	_cleanup_free_ char *buf = NULL;

	if (!p || read_file_capped(p, 256, &buf, NULL) < 0)
		return -1;
	return strtoll(buf, NULL, 10);
}

int agent_report(struct agent *a)
{
	agent_post_fn post = a->ops.post ? a->ops.post : agent_http_post;
	json_t *st = NULL, *hb, *q;
	char *body;
	bool changed = false;
	int r;

	if (!a->cfg->server_url)
		return 1;
	r = agent_status(a, &st);
	if (r < 0)
		return r;
	hb = agent_heartbeat_from_status(st, uptime_s(a));
	json_decref(st);
	body = hb ? json_dumps(hb, JSON_COMPACT) : NULL;
	json_decref(hb);
	if (!body)
		return -ENOMEM;
	r = post(a->ops.post_userdata, a->cfg, "/v1/fleet/heartbeat", body);
	free(body);
	q = json_object_get(a->state, "report_pending");
	while (r == 0 && json_array_size(q)) {
		body = json_dumps(json_array_get(q, 0), JSON_COMPACT);
		if (!body)
			return -ENOMEM;
		r = post(a->ops.post_userdata, a->cfg, "/v1/fleet/status", body);
		free(body);
		/* One the server refuses as malformed will never pass: it is dropped. */
		if (r == 0 || r == -EINVAL) {
			json_array_remove(q, 0);
			changed = true;
			if (r == -EINVAL)
				r = 0;
		}
	}
	if (changed && !(a->flags & AGENT_READ_ONLY))
		state_save(a);
	if (r < 0)
		log_warn("cannot report to the server '%s' (%u event%s kept for the next poll): %s",
			 a->cfg->server_url, (unsigned)json_array_size(q),
			 json_array_size(q) == 1 ? "" : "s", strerror(-r));
	return r;
}

int agent_revert(struct agent *a, const char *name, const char *reason)
{
	json_t *loaded = json_object_get(a->state, "loaded");
	json_t *entry = NULL;
	int r;

	if (!name)
		name = jstr(loaded, "livepatch");
	if (!name)
		return log_error_errno(-ENOENT, "no livepatch loaded by the agent");
	if (loaded && streq_ptr(jstr(loaded, "livepatch"), name))
		entry = json_deep_copy(loaded);
	r = do_revert(a, name, entry, reason ? reason : "reverted by the operator");
	json_decref(entry);
	return r;
}

int agent_clear(struct agent *a, const char *what, unsigned *ret_n)
{
	json_t *b = json_object_get(a->state, "blocked");
	unsigned n = 0;

	for (size_t i = 0; i < json_array_size(b);) {
		json_t *v = json_array_get(b, i);

		if (!what || streq_ptr(jstr(v, "livepatch"), what) ||
		    streq_ptr(jstr(v, "target"), what) || streq_ptr(jstr(v, "sha256"), what)) {
			json_array_remove(b, i);
			n++;
		} else
			i++;
	}
	if (ret_n)
		*ret_n = n;
	return n ? state_save(a) : 0;
}

int agent_status(struct agent *a, json_t **ret)
{
	json_t *names = NULL, *patches = json_array(), *cves = json_array(), *n;
	json_t *loaded = json_object_get(a->state, "loaded");
	json_t *out;
	size_t i;
	int r;

	if (!patches || !cves) {
		r = -ENOMEM;
		goto fail;
	}
	r = agent_klp_list(a->cfg->sysroot, &names);
	if (r < 0)
		goto fail;
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n);
		bool ours = loaded && streq_ptr(jstr(loaded, "livepatch"), name);
		struct agent_klp k = {};
		json_t *p, *c;
		size_t j;

		if (agent_klp_read(a->cfg->sysroot, name, &k) < 0)
			continue;
		p = json_pack("{s:s, s:b, s:b, s:O, s:b}", "name", name, "enabled", k.enabled,
			      "transition", k.transition, "functions", k.functions, "managed",
			      ours);
		agent_klp_release(&k);
		if (!p) {
			r = -ENOMEM;
			goto fail;
		}
		if (ours) {
			json_object_set(p, "target", json_object_get(loaded, "target"));
			json_object_set(p, "sha256", json_object_get(loaded, "sha256"));
			json_object_set(p, "cves", json_object_get(loaded, "cves"));
			json_object_set(p, "loaded_at", json_object_get(loaded, "at"));
			json_array_foreach(json_object_get(loaded, "cves"), j, c)
				if (k.enabled)
					json_array_append(cves, c);
		}
		json_array_append_new(patches, p);
	}
	out = json_pack("{s:{s:s, s:s?, s:s?, s:s}, s:O, s:O, s:O?, s:O?, s:O?, s:O?, s:O?}",
			"kernel", "release", a->k.release, "version", a->k.version, "build_id",
			a->k.build_id, "boot_id", a->k.boot_id, "patches", patches, "cves_fixed",
			cves, "last_check", json_object_get(a->state, "last_check"),
			"last_check_result", json_object_get(a->state, "last_check_result"),
			"intent", json_object_get(a->state, "intent"), "blocked",
			json_object_get(a->state, "blocked"), "errors",
			json_object_get(a->state, "errors"));
	if (!out) {
		r = -ENOMEM;
		goto fail;
	}
	{
		_cleanup_free_ char *eff = NULL;

		if (agent_uname(a, &eff) == 0)
			json_object_set_new(out, "effective_release", json_string(eff));
	}
	*ret = out;
	r = 0;
fail:
	json_decref(names);
	json_decref(patches);
	json_decref(cves);
	return r;
}

int agent_uname(struct agent *a, char **ret)
{
	json_t *loaded = json_object_get(a->state, "loaded");
	const char *name = jstr(loaded, "livepatch");
	struct agent_klp k = {};
	char *s;

	if (name && agent_klp_read(a->cfg->sysroot, name, &k) == 0) {
		bool on = k.enabled;

		agent_klp_release(&k);
		if (on) {
			s = strdup_printf("%s+%s", a->k.release, name);
			goto done;
		}
	}
	s = strdup(a->k.release);
done:
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int agent_vex(struct agent *a, json_t **ret)
{
	_cleanup_free_ char *product = strdup_printf("pkg:generic/linux@%s", a->k.release);
	_cleanup_free_ char *id = NULL;
	json_t *status = NULL, *stmts = json_array(), *p, *c;
	size_t i, j;
	int r;

	if (!product || !stmts) {
		json_decref(stmts);
		return -ENOMEM;
	}
	r = agent_status(a, &status);
	if (r < 0) {
		json_decref(stmts);
		return r;
	}
	json_array_foreach(json_object_get(status, "patches"), i, p) {
		if (!json_is_true(json_object_get(p, "enabled")) ||
		    json_is_true(json_object_get(p, "transition")))
			continue;
		json_array_foreach(json_object_get(p, "cves"), j, c) {
			_cleanup_free_ char *note = strdup_printf(
				"fixed in the running kernel by livepatch %s (%s, sha256 %s)",
				jstr(p, "name"), strempty(jstr(p, "target")),
				strempty(jstr(p, "sha256")));

			json_array_append_new(
				stmts, json_pack("{s:{s:O}, s:[{s:s, s:{s:s}}], s:s, s:s?}",
						 "vulnerability", "name", c, "products", "@id",
						 product, "identifiers", "purl", product, "status",
						 "fixed", "status_notes", note));
		}
	}
	id = strdup_printf("urn:tuxtape:vex:%s:%lld", a->k.boot_id, wall_now(a));
	*ret = json_pack("{s:s, s:s?, s:s, s:o, s:i, s:s, s:o}", "@context",
			 "https://openvex.dev/ns/v0.2.0", "@id", id, "author", "tuxtape-agent",
			 "timestamp", agent_json_time(wall_now(a)), "version", 1, "tooling",
			 "tuxtape-agent", "statements", stmts);
	json_decref(status);
	return *ret ? 0 : -ENOMEM;
}

int agent_record_clean_stop(struct agent *a)
{
	json_object_set_new(a->state, "clean_stop", json_string(a->k.boot_id));
	return state_save(a);
}

/* One poll of the daemon, as `check` would do it, logged. */
static int daemon_poll(struct agent *a)
{
	json_t *rep = NULL;
	int r = agent_check(a, &rep);

	if (rep && !streq_ptr(jstr(rep, "result"), "up-to-date") &&
	    !streq_ptr(jstr(rep, "result"), "none"))
		log_info("check: %s %s%s%s", jstr(rep, "result"), strempty(jstr(rep, "target")),
			 jstr(rep, "reason") ? ": " : "", strempty(jstr(rep, "reason")));
	json_decref(rep);
	return r;
}

/*
 * Runs FN in a child process, so that what it maps and allocates (libcurl and TLS, the TUF
 * metadata, the module's bytes) goes away with it and the daemon idles small between polls;
 * then reads back the state the child wrote. Like `check` from cron, the child starts its
 * own kernel log watch from the sequence number in the state. -ENOMEM when FN ran out of
 * memory; a failed poll is not an error of the daemon.
 */
static int in_child(struct agent *a, int (*fn)(struct agent *a))
{
	json_t *st = NULL;
	pid_t pid;
	int ws = 0, r;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_warn_errno(negative_errno(), "cannot fork for the poll: polling in the daemon");
		return fn(a) == -ENOMEM ? -ENOMEM : 0;
	}
	if (pid == 0) {
		if (a->kmsg_fd >= 0)
			close(a->kmsg_fd); /* the parent's read position is its own */
		a->kmsg_fd = -1;
		watch_reset(a);
		r = fn(a);
		_exit(r == -ENOMEM ? 2 : 0);
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(negative_errno(), "cannot wait for the poll");
	if (a->kmsg_fd >= 0)
		close(a->kmsg_fd);
	a->kmsg_fd = -1;
	watch_reset(a);
	r = agent_state_load(a->cfg->state_dir, &st);
	if (r < 0)
		return log_error_errno(r, "cannot read the state the poll wrote: %s", strerror(-r));
	json_decref(a->state);
	a->state = st;
	if (WIFSIGNALED(ws))
		log_warn("the poll was killed by signal %d", WTERMSIG(ws));
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 2 ? -ENOMEM : 0;
}

static int daemon_report(struct agent *a)
{
	agent_report(a);
	return 0;
}

int agent_run(struct agent *a, volatile sig_atomic_t *stop)
{
	uint64_t next = a->ops.now_ms(a->ops.userdata);

	while (!*stop) {
		uint64_t now = a->ops.now_ms(a->ops.userdata);
		json_t *rep = NULL;
		int timeout;

		if (now >= next) {
			int r = in_child(a, daemon_poll);

			if (r == -ENOMEM)
				return r;
			now = a->ops.now_ms(a->ops.userdata);
			next = now + (uint64_t)a->cfg->interval_s * 1000;
			if (a->cfg->jitter_s)
				next += (uint64_t)(random() % ((long)a->cfg->jitter_s * 1000 + 1));
		}
		if (json_object_get(a->state, "loaded") && watch_loaded(a, &rep) > 0) {
			log_warn("reverted %s: %s", strempty(jstr(rep, "target")),
				 strempty(jstr(rep, "reason")));
			record_check(a, "reverted");
			if (a->cfg->server_url)
				in_child(a, daemon_report);
		}
		json_decref(rep);
		timeout = (int)MIN(next - MIN(next, a->ops.now_ms(a->ops.userdata)), 60000u);
		if (a->kmsg_fd >= 0 && !a->kmsg_is_file) {
			struct pollfd pfd = {a->kmsg_fd, POLLIN, 0};

			poll(&pfd, 1, timeout);
		} else if (a->ops.sleep_ms == real_sleep_ms) {
			/* Unlike real_sleep_ms(), a SIGTERM ends this wait at once. */
			poll(NULL, 0, timeout);
		} else
			a->ops.sleep_ms(a->ops.userdata, (unsigned)timeout);
	}
	return agent_record_clean_stop(a);
}

/*
 * Unit tests for the TUF client against what the conformance suite does not try (spec
 * 1.5.2): endless and slow responses, a cap on root rotations per refresh, delegation
 * count and depth limits. Repositories are built here, signed with a fresh ed25519 key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fileio.h"
#include "macro.h"
#include "tuf/client.h"
#include "tuf/fetch.h"
#include "tuf/keys.h"

#define EXPIRES "2099-01-01T00:00:00Z"

static struct tuf_signer signer;

/* An in-memory repository: URL basename -> bytes; counts requests. */
struct fake_repo {
	json_t *files;
	unsigned requests;
	char last_url[256];
};

static int fake_fetch(void *userdata, const char *url, size_t max, char **ret_buf, size_t *ret_len)
{
	struct fake_repo *f = userdata;
	const char *name = strrchr(url, '/') + 1;
	json_t *v = json_object_get(f->files, name);

	f->requests++;
	snprintf(f->last_url, sizeof(f->last_url), "%s", name);
	if (!v)
		return -ENOENT;
	if (json_string_length(v) > max)
		return -EFBIG;
	*ret_buf = strdup(json_string_value(v));
	*ret_len = json_string_length(v);
	return 0;
}

static void repo_put(struct fake_repo *f, const char *name, json_t *signed_)
{
	json_t *md = json_pack("{s:o, s:[]}", "signed", signed_, "signatures");
	char *text;

	assert_int_equal(tuf_sign_metadata(md, &signer), 0);
	text = json_dumps(md, JSON_COMPACT);
	json_object_set_new(f->files, name, json_string(text));
	free(text);
	json_decref(md);
}

static json_t *role_keys(void)
{
	return json_pack("{s:[s], s:i}", "keyids", signer.id, "threshold", 1);
}

static json_t *root_signed(int version)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:b, s:{s:o}, s:{s:o, s:o, s:o, s:o}}", "_type",
			 "root", "spec_version", "1.0.31", "version", version, "expires", EXPIRES,
			 "consistent_snapshot", 0, "keys", signer.id,
			 tuf_signer_public_json(&signer), "roles", "root", role_keys(), "timestamp",
			 role_keys(), "snapshot", role_keys(), "targets", role_keys());
}

static json_t *common(const char *type, json_t *rest)
{
	json_t *s = json_pack("{s:s, s:s, s:i, s:s}", "_type", type, "spec_version", "1.0.31",
			      "version", 1, "expires", EXPIRES);

	json_object_update(s, rest);
	json_decref(rest);
	return s;
}

/* A repository whose "targets" delegates through DELEGATIONS (name -> its delegations). */
static void repo_top(struct fake_repo *f, json_t *snapshot_meta)
{
	json_object_set_new(snapshot_meta, "targets.json", json_pack("{s:i}", "version", 1));
	repo_put(f, "snapshot.json", common("snapshot", json_pack("{s:o}", "meta", snapshot_meta)));
	repo_put(f, "timestamp.json",
		 common("timestamp",
			json_pack("{s:{s:{s:i}}}", "meta", "snapshot.json", "version", 1)));
}

static json_t *delegating_to(const char *const *names, size_t n)
{
	json_t *roles = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(roles, json_pack("{s:s, s:[s], s:i, s:b, s:[s]}", "name",
						       names[i], "keyids", signer.id, "threshold",
						       1, "terminating", 0, "paths", "*"));
	return json_pack("{s:{}, s:{s:{s:o}, s:o}}", "targets", "delegations", "keys", signer.id,
			 tuf_signer_public_json(&signer), "roles", roles);
}

static char *metadata_dir(struct fake_repo *f)
{
	char tmpl[] = "/tmp/tt-tuf-client-XXXXXX";
	char *dir = strdup(mkdtemp(tmpl));
	json_t *root = json_pack("{s:o, s:[]}", "signed", root_signed(1), "signatures");
	char *text, *path;

	assert_int_equal(tuf_sign_metadata(root, &signer), 0);
	text = json_dumps(root, JSON_COMPACT);
	path = path_join(dir, "root.json");
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
	free(text);
	free(path);
	json_decref(root);
	f->files = json_object();
	return dir;
}

static int new_client(struct fake_repo *f, const char *dir, struct tuf_client_opts *o,
		      struct tuf_client **c)
{
	o->metadata_dir = dir;
	o->metadata_url = "http://repo.invalid/metadata";
	o->fetch = fake_fetch;
	o->fetch_userdata = f;
	return tuf_client_new(o, c);
}

static void test_happy_path(void **state)
{
	struct fake_repo f = {};
	_cleanup_free_ char *dir = metadata_dir(&f);
	struct tuf_client_opts o = {};
	struct tuf_client *c = NULL;
	json_t *info = NULL;

	repo_put(&f, "targets.json",
		 common("targets", json_pack("{s:{s:{s:i, s:{s:s}}}}", "targets", "a.ko", "length",
					     1, "hashes", "sha256", "00")));
	repo_top(&f, json_object());
	assert_int_equal(new_client(&f, dir, &o, &c), 0);
	assert_int_equal(tuf_client_refresh(c), 0);
	assert_int_equal(tuf_client_find_target(c, "a.ko", &info), 0);
	assert_int_equal(json_integer_value(json_object_get(info, "length")), 1);
	assert_int_equal(tuf_client_find_target(c, "b.ko", &info), -ENOENT);
	json_decref(info);
	tuf_client_free(c);
	rm_rf(dir);
	json_decref(f.files);
}

/* 100 valid new roots are waiting: one refresh takes max_root_rotations of them, no more. */
static void test_root_rotation_cap(void **state)
{
	struct fake_repo f = {};
	_cleanup_free_ char *dir = metadata_dir(&f);
	struct tuf_client_opts o = {.max_root_rotations = 5};
	struct tuf_client *c = NULL;
	char name[32];
	_cleanup_free_ char *buf = NULL, *path = path_join(dir, "root.json");
	json_t *root;
	size_t len;

	for (int v = 2; v <= 100; v++) {
		snprintf(name, sizeof(name), "%d.root.json", v);
		repo_put(&f, name, root_signed(v));
	}
	assert_int_equal(new_client(&f, dir, &o, &c), 0);
	/* No timestamp in this repository: the refresh fails after the root walk. */
	assert_int_equal(tuf_client_refresh(c), -ENOENT);
	assert_int_equal(f.requests, 5 + 1);
	assert_string_equal(f.last_url, "timestamp.json");
	tuf_client_free(c);
	assert_int_equal(read_file_capped(path, 1 << 20, &buf, &len), 0);
	root = json_loads(buf, 0, NULL);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(root, "signed"), "version")), 6);
	json_decref(root);
	rm_rf(dir);
	json_decref(f.files);
}

/* targets -> d1 -> d2 -> ... -> d20, all "*": the search stops at the depth limit. */
static void test_delegation_depth(void **state)
{
	struct fake_repo f = {};
	_cleanup_free_ char *dir = metadata_dir(&f);
	struct tuf_client_opts o = {.max_delegation_depth = 3};
	struct tuf_client *c = NULL;
	json_t *meta = json_object(), *info = NULL;
	char name[32], child[32];

	snprintf(child, sizeof(child), "d1");
	repo_put(&f, "targets.json",
		 common("targets", delegating_to((const char *const[]){child}, 1)));
	for (int i = 1; i <= 20; i++) {
		snprintf(name, sizeof(name), "d%d.json", i);
		snprintf(child, sizeof(child), "d%d", i + 1);
		repo_put(&f, name,
			 common("targets", delegating_to((const char *const[]){child}, 1)));
		json_object_set_new(meta, name, json_pack("{s:i}", "version", 1));
	}
	repo_top(&f, meta);
	assert_int_equal(new_client(&f, dir, &o, &c), 0);
	assert_int_equal(tuf_client_refresh(c), 0);
	f.requests = 0;
	assert_int_equal(tuf_client_find_target(c, "x.ko", &info), -ENOENT);
	assert_int_equal(f.requests, 3); /* d1, d2, d3 */
	assert_string_equal(f.last_url, "d3.json");
	tuf_client_free(c);
	rm_rf(dir);
	json_decref(f.files);
}

/* targets delegates to 50 roles: one search visits at most max_delegations of them. */
static void test_delegation_count(void **state)
{
	struct fake_repo f = {};
	_cleanup_free_ char *dir = metadata_dir(&f);
	struct tuf_client_opts o = {.max_delegations = 10};
	struct tuf_client *c = NULL;
	json_t *meta = json_object(), *info = NULL;
	char names[50][8], file[32];
	const char *p[50];

	for (int i = 0; i < 50; i++) {
		snprintf(names[i], sizeof(names[i]), "r%d", i);
		p[i] = names[i];
		snprintf(file, sizeof(file), "r%d.json", i);
		repo_put(&f, file, common("targets", json_pack("{s:{}}", "targets")));
		json_object_set_new(meta, file, json_pack("{s:i}", "version", 1));
	}
	repo_put(&f, "targets.json", common("targets", delegating_to(p, 50)));
	repo_top(&f, meta);
	assert_int_equal(new_client(&f, dir, &o, &c), 0);
	assert_int_equal(tuf_client_refresh(c), 0);
	f.requests = 0;
	assert_int_equal(tuf_client_find_target(c, "x.ko", &info), -ENOENT);
	assert_int_equal(f.requests, 9); /* targets (already loaded) + r0..r8 */
	tuf_client_free(c);
	rm_rf(dir);
	json_decref(f.files);
}

/* An oversized timestamp is refused at the cap, not read whole. */
static void test_oversized_timestamp(void **state)
{
	struct fake_repo f = {};
	_cleanup_free_ char *dir = metadata_dir(&f);
	struct tuf_client_opts o = {.timestamp_max = 64};
	struct tuf_client *c = NULL;

	repo_put(&f, "targets.json", common("targets", json_pack("{s:{}}", "targets")));
	repo_top(&f, json_object());
	assert_int_equal(new_client(&f, dir, &o, &c), 0);
	assert_int_equal(tuf_client_refresh(c), -EFBIG);
	tuf_client_free(c);
	rm_rf(dir);
	json_decref(f.files);
}

/* A loopback HTTP server: endless bodies, lying Content-Length, or a slow drip. */
enum server_mode { ENDLESS, BIG_LENGTH, SLOW_DRIP };

struct server {
	int fd;
	enum server_mode mode;
	pthread_t thread;
};

static void *serve(void *userdata)
{
	struct server *s = userdata;
	char req[4096], chunk[65536];
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (read(c, req, sizeof(req)) <= 0)
		goto out;
	memset(chunk, 'x', sizeof(chunk));
	if (s->mode == BIG_LENGTH) {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n";

		if (write(c, h, strlen(h)) < 0)
			goto out;
	} else {
		const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";

		if (write(c, h, strlen(h)) < 0)
			goto out;
	}
	/* Until the client hangs up (bounded, so a broken client cannot hang the test). */
	for (int i = 0; i < 100000; i++) {
		if (s->mode == SLOW_DRIP) {
			if (write(c, "x", 1) != 1)
				break;
			usleep(500 * 1000);
			if (i > 20)
				break;
		} else if (write(c, chunk, sizeof(chunk)) < 0) {
			break;
		}
	}
out:
	close(c);
	return NULL;
}

static char *server_start(struct server *s, enum server_mode mode)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	char *url;

	s->mode = mode;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
	assert_true(asprintf(&url, "http://127.0.0.1:%d/timestamp.json", ntohs(a.sin_port)) > 0);
	return url;
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static void http_case(enum server_mode mode, const struct tuf_http_opts *o, int want)
{
	struct server s;
	_cleanup_free_ char *url = server_start(&s, mode);
	struct tuf_http *h = NULL;
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(tuf_http_new(o, &h), 0);
	assert_int_equal(tuf_http_fetch(h, url, 1 << 20, &buf, &len), want);
	assert_null(buf);
	tuf_http_free(h);
	server_stop(&s);
}

static void test_http_endless(void **state)
{
	http_case(ENDLESS, NULL, -EFBIG);
}

static void test_http_lying_length(void **state)
{
	http_case(BIG_LENGTH, NULL, -EFBIG);
}

static void test_http_slow_drip(void **state)
{
	struct tuf_http_opts o = {.low_speed_time_s = 2};

	http_case(SLOW_DRIP, &o, -ETIMEDOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_root_rotation_cap),
		cmocka_unit_test(test_delegation_depth),
		cmocka_unit_test(test_delegation_count),
		cmocka_unit_test(test_oversized_timestamp),
		cmocka_unit_test(test_http_endless),
		cmocka_unit_test(test_http_lying_length),
		cmocka_unit_test(test_http_slow_drip),
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (tuf_signer_generate(&signer) < 0)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	tuf_signer_release(&signer);
	return r;
}

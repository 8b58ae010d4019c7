/*
 * A fixture HTTP server for the test suite: serves files from a directory on 127.0.0.1 (an
 * ephemeral port, written to a file), can answer with errors, flakiness, slow and oversized
 * bodies, logs every request, and stops by itself after a bounded time.
 *
 *   httpd-fixture --dir DIR --port-file FILE [--log FILE] [--lifetime SECONDS]
 *
 * URLs:
 *   /PATH                       DIR/PATH; with ?cveId=ID: DIR/PATH/ID.json; with
 *                               ?startIndex=N: DIR/PATH/page-N.json (NVD's API shapes)
 *   /status/CODE/...            always CODE
 *   /flaky/CODE/N/REST          CODE for the first N requests of this exact URL, then /REST
 *   /retry-after/SECS/N/REST    like flaky with 429 and a Retry-After header
 *   /slow/MS/REST               waits MS milliseconds, then /REST
 *   /big/BYTES                  BYTES of 'x', chunked (no Content-Length)
 * Each request is logged as "GET /url?query apiKey=VALUE|-".
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *root;
static FILE *log_file;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stop;

struct counter {
	char *url;
	unsigned n;
};
static struct counter counters[256];

static unsigned count_hit(const char *url)
{
	unsigned n = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if (!counters[i].url) {
			counters[i].url = strdup(url);
			n = counters[i].url ? ++counters[i].n : 0;
			break;
		}
		if (strcmp(counters[i].url, url) == 0) {
			n = ++counters[i].n;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

struct query {
	char buf[2048];
	size_t len;
	const char *cve_id, *start_index;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct query *q = cls;
	int n;

	(void)kind;
	if (strcmp(key, "cveId") == 0)
		q->cve_id = value;
	if (strcmp(key, "startIndex") == 0)
		q->start_index = value;
	n = snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%s%s=%s", q->len ? "&" : "?", key,
		     value ? value : "");
	if (n > 0 && (size_t)n < sizeof(q->buf) - q->len)
		q->len += (size_t)n;
	return MHD_YES;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

struct big {
	unsigned long long left;
};

static ssize_t big_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct big *b = cls;
	size_t n = b->left < max ? (size_t)b->left : max;

	(void)pos;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	memset(buf, 'x', n);
	b->left -= n;
	return (ssize_t)n;
}

static enum MHD_Result serve_file(struct MHD_Connection *c, const char *path, const struct query *q)
{
	char file[4096];
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct stat st;
	int fd, n;

	if (strstr(path, ".."))
		return reply_text(c, 403, "no\n");
	if (q->cve_id)
		n = snprintf(file, sizeof(file), "%s%s/%s.json", root, path, q->cve_id);
	else if (q->start_index)
		n = snprintf(file, sizeof(file), "%s%s/page-%s.json", root, path, q->start_index);
	else
		n = snprintf(file, sizeof(file), "%s%s", root, path);
	if (n < 0 || (size_t)n >= sizeof(file))
		return reply_text(c, 414, "too long\n");
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return reply_text(c, 404, "not found\n");
	}
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	static int first_call_marker;
	struct query q = {};
	const char *key;
	char full[4096];
	unsigned a, b;

	(void)cls, (void)version, (void)upload_data, (void)upload_size;
	if (*con_cls != &first_call_marker) { /* headers only on the first call */
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0)
		return reply_text(c, 405, "GET only\n");
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
	key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "apiKey");
	snprintf(full, sizeof(full), "%s%s", url, q.buf);
	pthread_mutex_lock(&lock);
	if (log_file) {
		fprintf(log_file, "GET %s apiKey=%s\n", full, key ? key : "-");
		fflush(log_file);
	}
	pthread_mutex_unlock(&lock);

	/* Prefixes peel off one by one; "%n" is where the rest (kept with its '/') starts. */
	for (const char *rest = url;;) {
		int n = 0;

		if (sscanf(rest, "/status/%u", &a) == 1)
			return reply_text(c, a, "status\n");
		if (sscanf(rest, "/flaky/%u/%u/%n", &a, &b, &n) == 2 && n) {
			rest += n - 1;
			if (count_hit(full) <= b)
				return reply_text(c, a, "try again\n");
			continue;
		}
		n = 0;
		if (sscanf(rest, "/retry-after/%u/%u/%n", &a, &b, &n) == 2 && n) {
			rest += n - 1;
			if (count_hit(full) <= b) {
				struct MHD_Response *r = MHD_create_response_from_buffer(
					5, (void *)"slow\n", MHD_RESPMEM_PERSISTENT);
				char secs[16];
				enum MHD_Result ret;

				snprintf(secs, sizeof(secs), "%u", a);
				MHD_add_response_header(r, "Retry-After", secs);
				ret = MHD_queue_response(c, 429, r);
				MHD_destroy_response(r);
				return ret;
			}
			continue;
		}
		n = 0;
		if (sscanf(rest, "/slow/%u/%n", &a, &n) == 1 && n) {
			struct timespec ts = {a / 1000, (long)(a % 1000) * 1000000};

			rest += n - 1;
			nanosleep(&ts, NULL);
			continue;
		}
		if (sscanf(rest, "/big/%u", &a) == 1) {
			struct big *bg = malloc(sizeof(*bg));
			struct MHD_Response *r;
			enum MHD_Result ret;

			if (!bg)
				return MHD_NO;
			bg->left = a;
			r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, big_read, bg,
							      free);
			ret = MHD_queue_response(c, 200, r);
			MHD_destroy_response(r);
			return ret;
		}
		return serve_file(c, rest, &q);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *log_path = NULL;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	long lifetime = 60;
	time_t end;
	FILE *pf;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dir") == 0)
			root = argv[i + 1];
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--log") == 0)
			log_path = argv[i + 1];
		else if (strcmp(argv[i], "--lifetime") == 0)
			lifetime = strtol(argv[i + 1], NULL, 10);
	}
	if (!root || !port_file || lifetime <= 0 || lifetime > 3600) {
		fprintf(stderr, "usage: httpd-fixture --dir DIR --port-file FILE [--log FILE] "
				"[--lifetime SECONDS (1-3600)]\n");
		return 64;
	}
	if (log_path && !(log_file = fopen(log_path, "a"))) {
		perror(log_path);
		return 1;
	}
	{
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
					     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
				     0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	}
	if (!d) {
		fprintf(stderr, "httpd-fixture: cannot start the server\n");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		fprintf(stderr, "httpd-fixture: no port\n");
		return 1;
	}
	{
		char tmp[4096];

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		pf = fopen(tmp, "w");
		if (!pf || fprintf(pf, "%u\n", (unsigned)info->port) < 0 || fclose(pf) != 0 ||
		    rename(tmp, port_file) < 0) {
			perror(port_file);
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	end = time(NULL) + lifetime;
	while (!stop && time(NULL) < end)
		usleep(100000);
	MHD_stop_daemon(d);
	return 0;
}

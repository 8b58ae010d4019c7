/*
 * Long work off the screen's thread: loading the model, a sync, writing a patch. One job at a
 * time; the screen polls it and draws its progress, so a key is never left waiting.
 */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

struct dash_model;
struct dash_source;
struct dash_source_config;

enum job_kind {
	JOB_LOAD,  /* a new model */
	JOB_SYNC,  /* sync, then a new model */
	JOB_PATCH, /* the raw fix of arg[0] for kernel arg[1] */
	JOB_NODES, /* the fleet's nodes again (dash_nodes_fetch) */
};

struct job {
	pthread_t thread;
	bool running;
	enum job_kind kind;
	const struct dash_source_config *cfg;
	char *arg[2];
	pthread_mutex_t lock; /* guards what follows */
	bool finished;
	char what[64];
	unsigned long done, total;
	/* results, read once finished */
	int r;
	struct dash_model *model;
	char *text;   /* JOB_SYNC: the summary; JOB_PATCH: the patch */
	json_t *json; /* JOB_NODES: the node list */
	char *error;  /* the last error the job logged */
};

void job_init(struct job *j);
int job_start(struct job *j, enum job_kind kind, const struct dash_source_config *cfg,
	      const char *a0, const char *a1);
/* True once a started job has finished and was joined; then its results may be taken. */
bool job_poll(struct job *j);
/* "sync: records 1200/14626" while running. */
void job_describe(struct job *j, char *buf, size_t size);
/* Frees the results not taken (a joined or never started job). */
void job_reset(struct job *j);

/*
 * The screen's requests to its source (a detail, the server's patches, a review) on one
 * worker thread with its own connection, in the order they were made, so a slow server never
 * holds a key or a redraw. WORK runs on the worker, DONE on the screen's thread (taken with
 * job_queue_take()); the fields in between carry what each request needs and finds.
 */
struct job_req;
typedef int (*job_req_work_fn)(struct dash_source *src, struct job_req *q);
typedef void (*job_req_done_fn)(void *ctx, struct job_req *q);

struct job_req {
	struct job_req *next;
	char label[80]; /* the status line's "working" text */
	unsigned tag;	/* non-zero: a newer request with this tag replaces a queued one */
	job_req_work_fn work;
	job_req_done_fn done;
	/* in */
	char *s[4];
	long long n[3];
	unsigned gen; /* the screen's state when the request was made (the patch selection's) */
	json_t *body;
	/* out */
	int r;
	json_t *out[2];
	char *text[2];
	char *error; /* the last error the library logged during WORK */
};

struct job_queue;

/* A request (never NULL: aborts on no memory like the screen itself would). */
struct job_req *job_req_new(const char *label, unsigned tag, job_req_work_fn work,
			    job_req_done_fn done);
void job_req_free(struct job_req *q);
/* The worker; it opens its own source on its first request. */
int job_queue_new(const struct dash_source_config *cfg, struct job_queue **ret);
/* Queues Q (taken); a queued request with Q's tag is dropped. */
void job_queue_push(struct job_queue *jq, struct job_req *q);
/* The oldest finished request, or NULL. */
struct job_req *job_queue_take(struct job_queue *jq);
/* True while a request is queued or running; then "patch #3 (1 more)" in BUF. */
bool job_queue_busy(struct job_queue *jq, char *buf, size_t size);
/*
 * How long the screen may wait for a key before it looks at the queue again, in ms: 0 when
 * an answer is waiting to be taken, POLL_MS while a request is queued or running, -1 (until a
 * key) when the worker has nothing. One look under the lock: a request that finishes between
 * two looks cannot leave its answer untaken while the screen sleeps.
 */
int job_queue_wait_ms(struct job_queue *jq, int poll_ms);
/*
 * Drops the queued requests, waits a moment for the running one and frees the queue; a
 * request still stuck on a slow server is left to the process's exit.
 */
void job_queue_stop(struct job_queue *jq);

/* Library messages: the job's errors go to its record, the rest to the status line. */
void job_log_init(void);
/* The latest message the library logged outside a job, or "" (copied into BUF). */
bool job_log_take(char *buf, size_t size);

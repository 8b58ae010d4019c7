/*
 * The dashboard's background work: one long job (a load, a sync, a raw fix, the nodes), the
 * queue of the screen's requests on its own worker, and the library's log and progress
 * callbacks, which send a worker's errors to its own record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"
#include "log.h"
#include "model.h"
#include "source.h"
#include "banned.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *current; /* the running job, for the callbacks */
static pthread_t current_thread;
static char last_msg[256];
static bool last_msg_new;
static struct job_queue *queue; /* the request worker, for the callbacks */

struct job_queue {
	pthread_t thread;
	const struct dash_source_config *cfg;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cond;
	bool stopping, exited;
	struct job_req *pending, *running, *finished;
};

static void on_log(enum tt_log_level level, const char *msg, void *userdata)
{
	pthread_mutex_lock(&log_lock);
	if (queue && pthread_equal(pthread_self(), queue->thread)) {
		if (level <= TT_LOG_ERR) {
			pthread_mutex_lock(&queue->lock);
			if (queue->running) {
				free(queue->running->error);
				queue->running->error = strdup(msg);
			}
			pthread_mutex_unlock(&queue->lock);
		}
	} else if (current && pthread_equal(pthread_self(), current_thread)) {
		if (level <= TT_LOG_ERR) {
			pthread_mutex_lock(&current->lock);
			free(current->error);
			current->error = strdup(msg);
			pthread_mutex_unlock(&current->lock);
		}
	} else if (level <= TT_LOG_WARN) {
		snprintf(last_msg, sizeof(last_msg), "%s", msg);
		last_msg_new = true;
	}
	pthread_mutex_unlock(&log_lock);
}

static void on_progress(const char *what, unsigned long done, unsigned long total, void *userdata)
{
	pthread_mutex_lock(&log_lock);
	if (current && pthread_equal(pthread_self(), current_thread)) {
		pthread_mutex_lock(&current->lock);
		snprintf(current->what, sizeof(current->what), "%s", what);
		current->done = done;
		current->total = total;
		pthread_mutex_unlock(&current->lock);
	}
	pthread_mutex_unlock(&log_lock);
}

void job_log_init(void)
{
	tt_log_set(on_log, NULL, TT_LOG_WARN);
	tt_progress_set(on_progress, NULL);
}

bool job_log_take(char *buf, size_t size)
{
	bool fresh;

	pthread_mutex_lock(&log_lock);
	fresh = last_msg_new;
	if (fresh)
		snprintf(buf, size, "%s", last_msg);
	last_msg_new = false;
	pthread_mutex_unlock(&log_lock);
	return fresh;
}

void job_init(struct job *j)
{
	memset(j, 0, sizeof(*j));
	pthread_mutex_init(&j->lock, NULL);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	_cleanup_source_ struct dash_source *src = NULL;
	struct dash_model *m = NULL;
	char *text = NULL;
	json_t *json = NULL;
	int r;

	r = dash_source_open(j->cfg, &src);
	if (r >= 0 && j->kind == JOB_SYNC) {
		tt_progress("syncing", 0, 0);
		r = src->ops->sync(src, &text);
	}
	if (r >= 0 && (j->kind == JOB_LOAD || j->kind == JOB_SYNC))
		r = dash_model_load(src, &m);
	if (r >= 0 && j->kind == JOB_PATCH) {
		tt_progress("writing the patch", 0, 0);
		r = src->ops->patch(src, j->arg[0], j->arg[1], &text);
	}
	if (r >= 0 && j->kind == JOB_NODES)
		r = dash_nodes_fetch(src, &json);
	pthread_mutex_lock(&j->lock);
	j->json = json;
	j->r = r;
	j->model = m;
	j->text = text;
	j->finished = true;
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int job_start(struct job *j, enum job_kind kind, const struct dash_source_config *cfg,
	      const char *a0, const char *a1)
{
	int r;

	if (j->running)
		return -EBUSY;
	job_reset(j);
	j->kind = kind;
	j->cfg = cfg;
	j->arg[0] = a0 ? strdup(a0) : NULL;
	j->arg[1] = a1 ? strdup(a1) : NULL;
	snprintf(j->what, sizeof(j->what), "%s",
		 kind == JOB_SYNC    ? "syncing"
		 : kind == JOB_PATCH ? "patch"
		 : kind == JOB_NODES ? "nodes"
				     : "loading");
	pthread_mutex_lock(&log_lock);
	current = j;
	r = -pthread_create(&j->thread, NULL, job_main, j);
	if (r == 0)
		current_thread = j->thread;
	else
		current = NULL;
	pthread_mutex_unlock(&log_lock);
	if (r < 0)
		return r;
	j->running = true;
	return 0;
}

bool job_poll(struct job *j)
{
	bool fin;

	if (!j->running)
		return false;
	pthread_mutex_lock(&j->lock);
	fin = j->finished;
	pthread_mutex_unlock(&j->lock);
	if (!fin)
		return false;
	pthread_join(j->thread, NULL);
	pthread_mutex_lock(&log_lock);
	current = NULL;
	pthread_mutex_unlock(&log_lock);
	j->running = false;
	return true;
}

void job_describe(struct job *j, char *buf, size_t size)
{
	pthread_mutex_lock(&j->lock);
	if (j->total)
		snprintf(buf, size, "%s %lu/%lu", j->what, j->done, j->total);
	else
		snprintf(buf, size, "%s", j->what);
	pthread_mutex_unlock(&j->lock);
}

void job_reset(struct job *j)
{
	if (j->running)
		return;
	dash_model_free(j->model);
	free(j->text);
	json_decref(j->json);
	j->json = NULL;
	free(j->error);
	free(j->arg[0]);
	free(j->arg[1]);
	j->model = NULL;
	j->text = j->error = j->arg[0] = j->arg[1] = NULL;
	j->finished = false;
	j->r = 0;
	j->what[0] = 0;
	j->done = j->total = 0;
}

/* ---- the request queue ---- */

struct job_req *job_req_new(const char *label, unsigned tag, job_req_work_fn work,
			    job_req_done_fn done)
{
	struct job_req *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	snprintf(q->label, sizeof(q->label), "%s", label);
	q->tag = tag;
	q->work = work;
	q->done = done;
	return q;
}

void job_req_free(struct job_req *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(q->s); i++)
		free(q->s[i]);
	json_decref(q->body);
	json_decref(q->out[0]);
	json_decref(q->out[1]);
	free(q->text[0]);
	free(q->text[1]);
	free(q->error);
	free(q);
}

static void req_list_free(struct job_req *q)
{
	while (q) {
		struct job_req *next = q->next;

		job_req_free(q);
		q = next;
	}
}

static void *queue_main(void *arg)
{
	struct job_queue *jq = arg;
	struct dash_source *src = NULL;
	int open_r = 0;

	pthread_mutex_lock(&jq->lock);
	for (;;) {
		struct job_req *q, **tail;

		while (!jq->pending && !jq->stopping)
			pthread_cond_wait(&jq->cond, &jq->lock);
		if (jq->stopping)
			break;
		q = jq->pending;
		jq->pending = q->next;
		q->next = NULL;
		jq->running = q;
		pthread_mutex_unlock(&jq->lock);

		/* Opened once, on the first request: its connection serves every one after. */
		if (!src && open_r == 0)
			open_r = dash_source_open(jq->cfg, &src);
		if (open_r < 0)
			q->r = open_r;
		else
			q->r = q->work(src, q);

		pthread_mutex_lock(&jq->lock);
		jq->running = NULL;
		for (tail = &jq->finished; *tail; tail = &(*tail)->next)
			;
		*tail = q;
		pthread_cond_broadcast(&jq->cond);
	}
	jq->exited = true;
	pthread_cond_broadcast(&jq->cond);
	pthread_mutex_unlock(&jq->lock);
	dash_source_free(src);
	return NULL;
}

int job_queue_new(const struct dash_source_config *cfg, struct job_queue **ret)
{
	struct job_queue *jq = calloc(1, sizeof(*jq));
	int r;

	if (!jq)
		return -ENOMEM;
	jq->cfg = cfg;
	pthread_mutex_init(&jq->lock, NULL);
	pthread_cond_init(&jq->cond, NULL);
	/* The callbacks know the worker's thread before it can log. */
	pthread_mutex_lock(&log_lock);
	r = -pthread_create(&jq->thread, NULL, queue_main, jq);
	if (r == 0)
		queue = jq;
	pthread_mutex_unlock(&log_lock);
	if (r < 0) {
		free(jq);
		return r;
	}
	*ret = jq;
	return 0;
}

void job_queue_push(struct job_queue *jq, struct job_req *q)
{
	struct job_req **p;

	pthread_mutex_lock(&jq->lock);
	for (p = &jq->pending; *p;) {
		if (q->tag && (*p)->tag == q->tag) {
			struct job_req *old = *p;

			*p = old->next;
			job_req_free(old);
			continue;
		}
		p = &(*p)->next;
	}
	q->next = NULL;
	*p = q;
	pthread_cond_broadcast(&jq->cond);
	pthread_mutex_unlock(&jq->lock);
}

struct job_req *job_queue_take(struct job_queue *jq)
{
	struct job_req *q;

	if (!jq)
		return NULL;
	pthread_mutex_lock(&jq->lock);
	q = jq->finished;
	if (q)
		jq->finished = q->next;
	pthread_mutex_unlock(&jq->lock);
	if (q)
		q->next = NULL;
	return q;
}

bool job_queue_busy(struct job_queue *jq, char *buf, size_t size)
{
	size_t more = 0;
	const char *label = NULL;
	bool busy;

	if (!jq)
		return false;
	pthread_mutex_lock(&jq->lock);
	for (struct job_req *q = jq->pending; q; q = q->next) {
		if (!label)
			label = q->label;
		more++;
	}
	if (jq->running) {
		label = jq->running->label;
	} else if (more)
		more--;
	busy = label != NULL;
	if (busy && more)
		snprintf(buf, size, "%s (%zu more)", label, more);
	else if (busy)
		snprintf(buf, size, "%s", label);
	pthread_mutex_unlock(&jq->lock);
	return busy;
}

int job_queue_wait_ms(struct job_queue *jq, int poll_ms)
{
	int ms;

	if (!jq)
		return -1;
	pthread_mutex_lock(&jq->lock);
	ms = jq->finished ? 0 : jq->running || jq->pending ? poll_ms : -1;
	pthread_mutex_unlock(&jq->lock);
	return ms;
}

void job_queue_stop(struct job_queue *jq)
{
	struct timespec until;
	bool exited;

	if (!jq)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&jq->lock);
	jq->stopping = true;
	req_list_free(jq->pending);
	jq->pending = NULL;
	pthread_cond_broadcast(&jq->cond);
	while (!jq->exited && pthread_cond_timedwait(&jq->cond, &jq->lock, &until) == 0)
		;
	exited = jq->exited;
	pthread_mutex_unlock(&jq->lock);
	pthread_mutex_lock(&log_lock);
	if (exited)
		queue = NULL;
	pthread_mutex_unlock(&log_lock);
	if (!exited) {
		/* Stuck on a server until its timeout: the process's exit ends it. */
		pthread_detach(jq->thread);
		return;
	}
	pthread_join(jq->thread, NULL);
	req_list_free(jq->finished);
	pthread_cond_destroy(&jq->cond);
	pthread_mutex_destroy(&jq->lock);
	free(jq);
}

/* The dashboard's one background job and the library's log and progress callbacks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void on_log(enum tt_log_level level, const char *msg, void *userdata)
{
	pthread_mutex_lock(&log_lock);
	if (current && pthread_equal(pthread_self(), current_thread)) {
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
	if (current) {
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

/*
 * Long work off the screen's thread: loading the model, a sync, writing a patch. One job at a
 * time; the screen polls it and draws its progress, so a key is never left waiting.
 */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

struct dash_model;
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
	char *text;  /* JOB_SYNC: the summary; JOB_PATCH: the patch */
	json_t *json; /* JOB_NODES: the node list */
	char *error; /* the last error the job logged */
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

/* Library messages: the job's errors go to its record, the rest to the status line. */
void job_log_init(void);
/* The latest message the library logged outside a job, or "" (copied into BUF). */
bool job_log_take(char *buf, size_t size);

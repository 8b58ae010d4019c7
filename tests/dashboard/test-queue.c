/*
 * The dashboard's request queue as the screen sees it between two keys: an answer that lands
 * after the screen last looked must still end its sleep (job_queue_wait_ms() 0), though the
 * queue no longer counts as busy. Before, the screen slept until the next key with the answer
 * untaken and "working" on its status line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "source.h"
#include "store/store.h"

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, work_started;

/* Runs on the worker: holds the request until the test opens the gate. */
static int held_work(struct dash_source *src, struct job_req *q)
{
	pthread_mutex_lock(&gate_lock);
	work_started = true;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	q->n[2] = 42;
	return 0;
}

static void no_done(void *ctx, struct job_req *q)
{
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static void test_answer_wakes_the_screen(void **state)
{
	char dir[] = "/tmp/tt-dash-queue.XXXXXX", db[64], label[64];
	struct dash_source_config cfg = { 0 };
	struct job_queue *jq = NULL;
	struct tt_store *s = NULL;
	struct job_req *q;
	int i;

	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/t.db", dir);
	assert_int_equal(tt_store_open(db, 0, &s), 0);
	tt_store_free(s);
	cfg.db_path = db;

	assert_int_equal(job_queue_new(&cfg, &jq), 0);
	assert_int_equal(job_queue_wait_ms(jq, 50), -1); /* nothing to wait for: until a key */
	job_queue_push(jq, job_req_new("held", 0, held_work, no_done));

	pthread_mutex_lock(&gate_lock);
	while (!work_started)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	assert_true(job_queue_busy(jq, label, sizeof(label)));
	assert_string_equal(label, "held");
	assert_int_equal(job_queue_wait_ms(jq, 50), 50); /* running: poll */

	/* The answer lands while the screen is between its looks. */
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	for (i = 0; i < 500 && job_queue_busy(jq, label, sizeof(label)); i++)
		sleep_ms(10);
	assert_false(job_queue_busy(jq, label, sizeof(label)));
	/* Not busy, yet the screen must not sleep: the answer waits to be taken. */
	assert_int_equal(job_queue_wait_ms(jq, 50), 0);

	q = job_queue_take(jq);
	assert_non_null(q);
	assert_int_equal(q->r, 0);
	assert_int_equal(q->n[2], 42);
	job_req_free(q);
	assert_null(job_queue_take(jq));
	assert_int_equal(job_queue_wait_ms(jq, 50), -1);

	job_queue_stop(jq);
	for (i = 0; i < 3; i++) {
		char f[96];

		snprintf(f, sizeof(f), "%s%s", db, (const char *[]){ "", "-wal", "-shm" }[i]);
		unlink(f);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_wakes_the_screen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

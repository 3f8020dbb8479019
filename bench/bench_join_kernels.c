#include "bench_join_kernels.h"

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ck_pr.h>

#include <stealpool/pool.h>

/* Maximum wait for a batch before the program aborts. */
#define BATCH_TIMEOUT_NS (60LL * 1000000000LL)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int bj_pool_create(unsigned workers, struct sp_pool **out)
{
    sp_config config;
    sp_config_init(&config);
    (void)sp_config_from_env(&config); /* an invalid variable is logged and skipped */
    config.workers = workers;
    return sp_pool_create(out, &config);
}

void bj_pool_destroy(struct sp_pool *pool)
{
    sp_pool_destroy(pool);
}

typedef struct submit_batch {
    atomic_size_t remaining;
    sem_t done;
} submit_batch;

static void submitted_task(void *arg)
{
    submit_batch *batch = arg;
    /* acq_rel: the last decrement happens after every other task's, so the post comes last. */
    if (atomic_fetch_sub_explicit(&batch->remaining, 1, memory_order_acq_rel) == 1)
        sem_post(&batch->done);
}

/* Stops the program: a batch that never finishes means a lost task or wake-up. */
static void fail_timeout(const char *what)
{
    fprintf(stderr, "bench_join: %s did not finish within 60 s\n", what);
    abort();
}

int bj_submit_and_wait(struct sp_pool *pool, size_t tasks)
{
    if (tasks == 0)
        return 0;

    submit_batch batch;
    atomic_init(&batch.remaining, tasks);
    if (sem_init(&batch.done, 0, 0) != 0)
        return errno;

    int rc = 0;
    size_t submitted = 0;
    while (submitted < tasks && rc == 0) {
        rc = sp_submit(pool, submitted_task, &batch);
        if (rc == 0)
            submitted++;
    }

    /* Take the tasks never submitted off the count, so that the batch can finish. */
    size_t missing = tasks - submitted;
    /* acq_rel: the same protocol as the decrement in submitted_task. */
    if (missing > 0 &&
        atomic_fetch_sub_explicit(&batch.remaining, missing, memory_order_acq_rel) == missing)
        sem_post(&batch.done);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += BATCH_TIMEOUT_NS / 1000000000LL;
    while (sem_timedwait(&batch.done, &deadline) != 0)
        if (errno == ETIMEDOUT)
            fail_timeout("a batch of submitted tasks");

    sem_destroy(&batch.done);
    return rc;
}

typedef struct steal_batch {
    sp_pool *pool;
    size_t tasks;
    int producer;           /* worker index of the producing task */
    atomic_size_t remaining;
    atomic_uint_fast64_t stolen;
    int error;
} steal_batch;

static void stolen_task(void *arg)
{
    steal_batch *batch = arg;
    if (sp_worker_index() != batch->producer)
        /* relaxed: read after the producer's acquire of remaining == 0. */
        atomic_fetch_add_explicit(&batch->stolen, 1, memory_order_relaxed);
    /* release: pairs with the producer's acquire load of remaining. */
    atomic_fetch_sub_explicit(&batch->remaining, 1, memory_order_release);
}

static void producer_task(void *arg)
{
    steal_batch *batch = arg;
    batch->producer = sp_worker_index();

    size_t submitted = 0;
    for (; submitted < batch->tasks; submitted++) {
        int rc = sp_submit(batch->pool, stolen_task, batch);
        if (rc != 0) {
            batch->error = rc;
            break;
        }
    }
    /* relaxed: only this task reads remaining back, with acquire below. */
    atomic_fetch_sub_explicit(&batch->remaining, batch->tasks - submitted, memory_order_relaxed);

    int64_t deadline = now_ns() + BATCH_TIMEOUT_NS;
    /* acquire: pairs with the release decrement in stolen_task. */
    while (atomic_load_explicit(&batch->remaining, memory_order_acquire) != 0) {
        if (now_ns() > deadline)
            fail_timeout("a batch of tasks to steal");
        ck_pr_stall();
    }
}

int bj_produce_and_steal(struct sp_pool *pool, size_t tasks, uint64_t *stolen)
{
    if (sp_pool_workers(pool) < 2)
        return EINVAL;

    steal_batch batch = {.pool = pool, .tasks = tasks, .producer = -1, .error = 0};
    atomic_init(&batch.remaining, tasks);
    atomic_init(&batch.stolen, 0);

    int rc = sp_pool_run(pool, producer_task, &batch);
    if (rc != 0)
        return rc;
    /* relaxed: sp_pool_run returned after the producer saw every decrement. */
    *stolen = atomic_load_explicit(&batch.stolen, memory_order_relaxed);
    return batch.error;
}

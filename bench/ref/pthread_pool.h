/*
 * A fixed-size thread pool on one mutex and two condition variables,
 * written the way a C programmer usually writes one. Submit mallocs a job,
 * appends it to a linked FIFO and signals one thread. Each thread takes the
 * oldest job and runs it, and the thread that finishes the last pending job
 * broadcasts to the waiters. It is the "pthread" baseline of the
 * bounded-concurrency benchmarks. Functions return 0 or an errno value.
 */
#ifndef SP_BENCH_PTHREAD_POOL_H
#define SP_BENCH_PTHREAD_POOL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct ref_pool_job {
    void (*fn)(void *);
    void                *arg;
    struct ref_pool_job *next;
} ref_pool_job;

typedef struct ref_pool {
    pthread_mutex_t lock;
    pthread_cond_t  work;     /* signaled when a job is queued or on shutdown */
    pthread_cond_t  idle;     /* broadcast when pending drops to 0 */
    ref_pool_job   *head;     /* under lock */
    ref_pool_job   *tail;     /* under lock */
    unsigned long   pending;  /* queued or running jobs, under lock */
    bool            stopping; /* under lock */
    pthread_t      *threads;
    unsigned        thread_count;
} ref_pool;

static inline void *ref_pool_thread(void *arg)
{
    ref_pool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->work, &pool->lock);
        if (pool->head == NULL)
            break;

        ref_pool_job *job = pool->head;
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        job->fn(job->arg);
        free(job);

        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_broadcast(&pool->idle);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static inline void ref_pool_destroy(ref_pool *pool);

/* Starts thread_count threads. */
static inline int ref_pool_init(ref_pool *pool, unsigned thread_count)
{
    if (thread_count == 0)
        return EINVAL;

    *pool = (ref_pool){.head = NULL};
    pool->threads = calloc(thread_count, sizeof(pthread_t));
    if (pool->threads == NULL)
        return ENOMEM;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->idle, NULL);

    for (unsigned i = 0; i < thread_count; i++) {
        int rc = pthread_create(&pool->threads[i], NULL, ref_pool_thread, pool);
        if (rc != 0) {
            ref_pool_destroy(pool);
            return rc;
        }
        pool->thread_count++;
    }
    return 0;
}

/* Queues fn(arg). Never blocks for longer than the lock is held. */
static inline int ref_pool_submit(ref_pool *pool, void (*fn)(void *), void *arg)
{
    ref_pool_job *job = malloc(sizeof *job);
    if (job == NULL)
        return ENOMEM;
    job->fn = fn;
    job->arg = arg;
    job->next = NULL;

    pthread_mutex_lock(&pool->lock);
    if (pool->tail != NULL)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    pool->pending++;
    pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

/* Blocks until every submitted job has finished. */
static inline void ref_pool_wait(ref_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (pool->pending != 0)
        pthread_cond_wait(&pool->idle, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

/* Runs the queued jobs, stops the threads and frees the pool's memory. */
static inline void ref_pool_destroy(ref_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);

    for (unsigned i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);

    pthread_cond_destroy(&pool->idle);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    pool->threads = NULL;
}

#endif

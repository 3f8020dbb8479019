/*
 * A weighted semaphore on one mutex and one condition variable, written the
 * way a C programmer usually writes one: acquire waits while too few units
 * are free, release adds units and broadcasts. It is not FIFO: any waiter
 * that fits may take units, so a large request can starve, and a thread
 * that releases and acquires again usually gets the units back at once.
 * It is the baseline for the semaphore benchmarks. Every function returns 0
 * or a pthread error code.
 */
#ifndef SP_BENCH_PTHREAD_WSEM_H
#define SP_BENCH_PTHREAD_WSEM_H

#include <pthread.h>
#include <stdint.h>

typedef struct ref_wsem {
    pthread_mutex_t lock;
    pthread_cond_t  changed;   /* signaled on every release */
    int64_t         available; /* under lock */
} ref_wsem;

static inline int ref_wsem_init(ref_wsem *sem, int64_t capacity)
{
    int rc = pthread_mutex_init(&sem->lock, NULL);
    if (rc != 0)
        return rc;
    rc = pthread_cond_init(&sem->changed, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&sem->lock);
        return rc;
    }
    sem->available = capacity;
    return 0;
}

static inline void ref_wsem_destroy(ref_wsem *sem)
{
    pthread_cond_destroy(&sem->changed);
    pthread_mutex_destroy(&sem->lock);
}

/* Blocks until n units are free, then takes them. */
static inline void ref_wsem_acquire(ref_wsem *sem, int64_t n)
{
    pthread_mutex_lock(&sem->lock);
    while (sem->available < n)
        pthread_cond_wait(&sem->changed, &sem->lock);
    sem->available -= n;
    pthread_mutex_unlock(&sem->lock);
}

static inline void ref_wsem_release(ref_wsem *sem, int64_t n)
{
    pthread_mutex_lock(&sem->lock);
    sem->available += n;
    pthread_cond_broadcast(&sem->changed);
    pthread_mutex_unlock(&sem->lock);
}

#endif

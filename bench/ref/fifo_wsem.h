/*
 * A first-in, first-out weighted semaphore on one mutex, with a condition
 * variable per waiter: the algorithm of Go's golang.org/x/sync Weighted,
 * written in C with pthreads. A request takes units at once only when they
 * are free and no request is queued. Otherwise it joins the queue, and a
 * release hands units to the waiters at the head, in order, for as long as
 * the head's request fits. It is the fair baseline of the semaphore
 * benchmarks, with the same ordering as sp_sem. fifo_wsem_init and
 * fifo_wsem_acquire return 0 or the error of pthread_mutex_init or
 * pthread_cond_init; locking and unlocking the default mutex go unchecked.
 */
#ifndef SP_BENCH_FIFO_WSEM_H
#define SP_BENCH_FIFO_WSEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A queued request, on the stack of the thread that waits. */
typedef struct fifo_wsem_waiter {
    struct fifo_wsem_waiter *next;
    int64_t                  n;
    bool                     admitted; /* under the semaphore's lock */
    pthread_cond_t           admitted_changed;
} fifo_wsem_waiter;

typedef struct fifo_wsem {
    pthread_mutex_t   lock;
    int64_t           available; /* under lock */
    fifo_wsem_waiter *head;      /* under lock; the oldest request */
    fifo_wsem_waiter *tail;      /* under lock */
} fifo_wsem;

static inline int fifo_wsem_init(fifo_wsem *sem, int64_t capacity)
{
    sem->available = capacity;
    sem->head = NULL;
    sem->tail = NULL;
    return pthread_mutex_init(&sem->lock, NULL);
}

static inline void fifo_wsem_destroy(fifo_wsem *sem)
{
    pthread_mutex_destroy(&sem->lock);
}

/* Blocks until the request reaches the head of the queue and fits. */
static inline int fifo_wsem_acquire(fifo_wsem *sem, int64_t n)
{
    pthread_mutex_lock(&sem->lock);
    if (sem->head == NULL && sem->available >= n) {
        sem->available -= n;
        pthread_mutex_unlock(&sem->lock);
        return 0;
    }

    fifo_wsem_waiter self = {.next = NULL, .n = n, .admitted = false};
    int rc = pthread_cond_init(&self.admitted_changed, NULL);
    if (rc != 0) {
        pthread_mutex_unlock(&sem->lock);
        return rc;
    }

    if (sem->tail != NULL)
        sem->tail->next = &self;
    else
        sem->head = &self;
    sem->tail = &self;

    while (!self.admitted)
        pthread_cond_wait(&self.admitted_changed, &sem->lock);
    pthread_mutex_unlock(&sem->lock);
    pthread_cond_destroy(&self.admitted_changed);
    return 0;
}

/* Returns n units and admits the waiters at the head that now fit. */
static inline void fifo_wsem_release(fifo_wsem *sem, int64_t n)
{
    pthread_mutex_lock(&sem->lock);
    sem->available += n;

    while (sem->head != NULL && sem->head->n <= sem->available) {
        fifo_wsem_waiter *w = sem->head;
        sem->available -= w->n;
        sem->head = w->next;
        if (sem->head == NULL)
            sem->tail = NULL;
        w->admitted = true;
        pthread_cond_signal(&w->admitted_changed);
    }
    pthread_mutex_unlock(&sem->lock);
}

#endif

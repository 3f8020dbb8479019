/*
 * Baseline for the channel benchmark: a bounded FIFO of 8-byte values
 * guarded by one mutex, with one condition variable for "not full" and one
 * for "not empty", the way a bounded queue is usually written with pthreads.
 * Header-only, C and C++.
 */
#ifndef SP_BENCH_REF_MUTEX_QUEUE_H
#define SP_BENCH_REF_MUTEX_QUEUE_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct mutex_queue {
    pthread_mutex_t lock;
    pthread_cond_t  not_full;
    pthread_cond_t  not_empty;
    uint64_t       *slots;
    size_t          capacity;
    size_t          head;  /* next slot to take; under lock */
    size_t          count; /* values stored; under lock */
} mutex_queue;

static inline int mutex_queue_init(mutex_queue *q, size_t capacity)
{
    q->slots = (uint64_t *)calloc(capacity, sizeof *q->slots);
    if (q->slots == NULL)
        return -1;
    q->capacity = capacity;
    q->head = 0;
    q->count = 0;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    return 0;
}

static inline void mutex_queue_destroy(mutex_queue *q)
{
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->lock);
    free(q->slots);
}

static inline void mutex_queue_push(mutex_queue *q, uint64_t value)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == q->capacity)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->slots[(q->head + q->count) % q->capacity] = value;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

static inline uint64_t mutex_queue_pop(mutex_queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0)
        pthread_cond_wait(&q->not_empty, &q->lock);
    uint64_t value = q->slots[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return value;
}

#endif

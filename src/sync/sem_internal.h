/* Semaphore internals that tests inspect. */
#ifndef SP_SYNC_SEM_INTERNAL_H
#define SP_SYNC_SEM_INTERNAL_H

#include <stdint.h>

#include <stealpool/sem.h>

/*
 * Returns the number of queued requests for exactly n units, or of all
 * queued requests when n is 0. Takes the semaphore's lock.
 */
unsigned sp__sem_queued_count(sp_sem *sem, int64_t n);

#endif

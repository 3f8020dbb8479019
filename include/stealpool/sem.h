/*
 * Weighted FIFO semaphore.
 *
 * A semaphore holds `capacity` units. Callers acquire n units at a time and
 * release them when done. Requests that cannot be admitted at once wait in
 * one FIFO queue, in arrival order: a large request at the head blocks every
 * later one, however small, so large requests are never starved. No call
 * admits units past a queued request, sp_sem_try_acquire included.
 * A request that does not fit at once first polls for units for about 15
 * microseconds (447 pause instructions and 6 sched_yield calls) and joins
 * the queue after that. Its place in the order is the moment it joins, so a request
 * that arrives during the polls may be admitted first.
 *
 * Every function returns 0 or a positive errno value unless stated
 * otherwise. An invalid argument returns EINVAL after one log line (see
 * sp_set_log) and never crashes. On any error the caller holds no units
 * from that call.
 *
 * Blocking inside the pool. sp_sem_acquire may be called from a task that
 * runs on a pool worker. While such a worker sleeps in the call, its pool
 * runs a spare worker thread in its place (started or woken for the time of
 * the sleep), so tasks that wait for units released by other tasks still
 * queued in the same pool do not deadlock it, even when every worker waits.
 * The limit is the pool's number of spare threads (256 in this version):
 * past it the pool logs that tasks may stall, and they can.
 * Before it sleeps, the waiting thread spins for up to 50 microseconds,
 * yielding its CPU every 64 pauses, which keeps a quick handoff free of
 * futex calls.
 */
#ifndef STEALPOOL_SEM_H
#define STEALPOOL_SEM_H

#include <stdbool.h>
#include <stdint.h>

#include <stealpool/ctx.h>
#include <stealpool/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_sem sp_sem;

/*
 * Creates a semaphore with capacity units, all available. Any capacity from
 * 1 to INT64_MAX is valid; no later sum of units overflows. Never blocks;
 * any thread. Returns EINVAL for a NULL out or a capacity below 1, ENOMEM.
 * *out is set only on success.
 */
int sp_sem_create(sp_sem **out, int64_t capacity);

/*
 * Destroys the semaphore. Never blocks; any thread. NULL is a no-op.
 *
 * If a request is still queued (a thread waiting in sp_sem_acquire or a
 * task queued by sp_sem_submit), the semaphore is not freed: the call logs
 * an error and leaves the semaphore intact and working, so that the
 * waiters can still use it, and its memory is leaked.
 *
 * Otherwise the semaphore must not be used after this call. Tasks admitted
 * by sp_sem_submit that are still running keep it alive: the last of them
 * frees it after releasing its units, so the call is safe as soon as the
 * last task function has returned, or even while tasks still run. Units
 * held by callers of sp_sem_acquire do not prevent the free; using the
 * semaphore after it is freed is undefined behaviour that this library
 * cannot detect.
 */
void sp_sem_destroy(sp_sem *sem);

/*
 * Acquires n units, waiting in FIFO order behind earlier requests. Blocks
 * until the units are admitted or ctx ends; ctx NULL waits forever. May be
 * called from a pool worker (see "Blocking inside the pool" above).
 *
 * When the units are not free at once, the call first polls for them for
 * about 15 microseconds (447 pause instructions and 6 sched_yield calls).
 * It takes them if they come back while no request is queued, and
 * otherwise joins the queue after the polls. Its place in the FIFO is the
 * moment it joins, so a request that arrives during the polls may be
 * admitted first. Units that a holder gives back within microseconds thus
 * change hands with one CAS, without the lock and the handoff of a queued
 * wait.
 *
 * A context that has already ended on entry makes the call return its error
 * at once, even when the units are free, and the call takes nothing.
 *
 * Returns:
 *   0          the caller holds n more units and must release them;
 *   EINVAL     sem is NULL, or n < 1, or n > the capacity (such a request
 *              could never be admitted, so it fails at once instead of
 *              waiting forever); nothing is queued;
 *   ECANCELED  ctx or an ancestor was canceled before the units were
 *              admitted; the caller holds nothing from this call;
 *   ETIMEDOUT  ctx's deadline passed before the units were admitted; the
 *              caller holds nothing from this call.
 * When ctx ends at the same moment as the units are admitted, the call
 * returns either 0 holding the units or the error holding none. A waiter
 * that leaves the head of the queue on cancel or timeout lets the requests
 * behind it that now fit be admitted at once.
 */
int sp_sem_acquire(sp_sem *sem, int64_t n, sp_ctx *ctx);

/*
 * Acquires n units only if they are free now and no request is queued.
 * Never blocks; any thread. Returns true when the caller now holds n more
 * units; false otherwise, and false after logging for a NULL sem or an n
 * outside 1..capacity.
 */
bool sp_sem_try_acquire(sp_sem *sem, int64_t n);

/*
 * Releases n units and admits the queued requests at the head of the queue
 * that now fit, in order: each waiting thread is handed its units and
 * woken, and each task queued by sp_sem_submit is handed its units and
 * submitted to its pool. Does not wait for other threads beyond a short
 * internal lock; any thread, including pool workers.
 *
 * Returns 0, or EINVAL, changing nothing, for a NULL sem, n < 1, or when
 * the release would make more than the capacity available (more units
 * released than are held).
 */
int sp_sem_release(sp_sem *sem, int64_t n);

/*
 * Returns the number of units free right now (not held and not handed to a
 * queued request), or 0 for NULL. The value may be stale as soon as it
 * returns. Never blocks; any thread.
 */
int64_t sp_sem_available(const sp_sem *sem);

/*
 * Queues fn(arg) to run on pool once n units are admitted for it, in the
 * same FIFO as sp_sem_acquire; the units are released when fn returns.
 * Never blocks: no thread waits for the admission, and each queued task
 * costs one small heap record. Any thread, including pool workers.
 *
 * When the units are free and nothing is queued, the task is submitted to
 * the pool before the call returns. Otherwise the thread whose release
 * admits it submits it later.
 *
 * Returns:
 *   0       the task was submitted or queued;
 *   EINVAL  sem, pool or fn is NULL, or n is outside 1..capacity;
 *   ENOMEM  no memory for the record;
 *   any error of sp_submit (for example EPIPE once sp_pool_destroy has
 *           begun) when the task was admitted at once; the units are
 *           released again and fn never runs.
 * A task admitted later whose sp_submit fails is dropped: fn never runs,
 * its units are released and the error is logged.
 */
int sp_sem_submit(sp_sem *sem, int64_t n, sp_pool *pool, void (*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif

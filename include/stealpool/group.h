/*
 * Error group: a set of tasks that run on a pool, where the first task to
 * fail cancels the others.
 *
 * sp_group_go runs fn(ctx, arg) as a task of the group's pool (tasks never
 * get threads of their own). ctx is the group's context, a child of the
 * parent given to sp_group_create. The first task that returns non-zero
 * records its value as the group's error and then cancels the context, so
 * the other tasks can notice sp_ctx_err(ctx) and stop early. Later non-zero
 * values are ignored: a task that returns ECANCELED because that first
 * error canceled the context can never replace it, since the error is
 * recorded before the cancel is visible. sp_group_wait returns the recorded
 * error once every task has returned.
 *
 * A task is a member of the group from the moment sp_group_go is called,
 * before the call can block on the limit, until the task returns (or until
 * sp_group_go returns an error, in which case the task never runs).
 * sp_group_wait returns only when no task is a member, so it never misses
 * a task whose sp_group_go was still waiting for a slot.
 *
 * Limit. sp_group_set_limit bounds the number of tasks admitted at once
 * (queued on the pool or running). A go call that finds the limit reached
 * waits for a slot. Sleeping go calls are admitted in arrival order. A go
 * spins before it sleeps, and it may take a slot that frees during the spin
 * if no call is asleep. Memory therefore stays bounded by the limit, however
 * many items pass through the group.
 *
 * Blocking inside the pool. A go blocked on the limit or a wait called from
 * a pool worker does not take the worker away from the pool: while the
 * worker sleeps, the pool wakes or starts a spare worker thread in its
 * place, which runs the other queued tasks (the tasks of this group
 * included). A task that calls sp_group_go on its own group holds its slot
 * while that go waits; if every slot is held by such tasks, the group
 * deadlocks, as errgroup does in Go.
 *
 * Every function returns 0 or a positive errno value unless stated
 * otherwise. A NULL group or fn returns EINVAL after one log line (see
 * sp_set_log) and never crashes.
 */
#ifndef STEALPOOL_GROUP_H
#define STEALPOOL_GROUP_H

#include <stdbool.h>

#include <stealpool/ctx.h>
#include <stealpool/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_group sp_group;

/* A task of a group. Returns 0 on success or a positive errno value. */
typedef int (*sp_group_fn)(sp_ctx *ctx, void *arg);

/*
 * Creates a group without a limit whose tasks run on pool (NULL: the pool of
 * sp_default_pool()). Its context is a new child of parent made with
 * sp_ctx_with_cancel (parent NULL: the background context), so canceling
 * parent cancels the group's context as well. The group holds its own
 * reference to the context until sp_group_destroy. Never blocks, except
 * for creating the default pool on first use; any thread.
 *
 * Returns 0 and stores the group in *out; EINVAL for a NULL out; ENOMEM;
 * EAGAIN when the default pool is needed and cannot be created.
 */
int sp_group_create(sp_group **out, sp_pool *pool, sp_ctx *parent);

/*
 * Sets the maximum number of tasks of the group admitted at once. limit < 0 removes the
 * limit; 1 .. INT_MAX sets it. Never blocks; any thread. The group starts
 * without a limit.
 *
 * Returns:
 *   0       the limit applies to the next sp_group_go;
 *   EINVAL  g is NULL, or limit is 0 (no task could ever run, and a go
 *           would wait forever); the limit is unchanged;
 *   EBUSY   a task is still a member (a go or a task has not finished);
 *           the limit is unchanged. Set it before the first go, or after
 *           sp_group_wait.
 * A call that races with an sp_group_go on another thread is a caller's
 * error: that go may see either limit.
 */
int sp_group_set_limit(sp_group *g, int limit);

/*
 * Runs fn(ctx, arg) as a task of the group on its pool, where ctx is the
 * group's context. Any thread, including the group's own tasks and other
 * pool tasks.
 *
 * Below the limit it submits the task and returns without blocking. At the
 * limit it blocks until a running task of the group returns and its slot is
 * handed to this call. It spins first, for the pool's idle spin time
 * (SP_SPIN_US, sp_config.spin_us), then sleeps on a futex. On a pool worker the pool runs a spare worker while the call
 * sleeps, so the tasks it waits for keep running. The context is consulted
 * only while the call waits: a go that finds a free slot runs its task even
 * when the group's context has already ended.
 *
 * Returns:
 *   0          the task was submitted; it runs once and then leaves the
 *              group;
 *   EINVAL     g or fn is NULL; fn never runs;
 *   ECANCELED  the call had to wait for a slot, and the group's context
 *              was canceled before a slot was handed to it (by the first
 *              error, by the parent, or by sp_group_wait). fn never
 *              runs. The call returns as soon as the cancel wakes it, and
 *              no running task has to end first. (ETIMEDOUT in the same
 *              way when the parent's deadline passes.)
 *   ENOMEM     no memory for the task record, or 2^31 - 1 tasks are
 *              already members; fn never runs;
 *   an error of sp_submit (EPIPE once sp_pool_destroy has begun); fn
 *              never runs.
 * An error returned here is not recorded as the group's error.
 */
int sp_group_go(sp_group *g, sp_group_fn fn, void *arg);

/*
 * Runs fn(ctx, arg) as sp_group_go does, but only when a slot is free now.
 * Never blocks; any thread. Returns true when the task was submitted; false
 * at the limit (fn does not run and nothing changes), for a NULL g or fn
 * (logged), or when sp_group_go would fail with ENOMEM or an sp_submit
 * error. A slot that frees while go calls are asleep goes to them, not
 * here.
 */
bool sp_group_try_go(sp_group *g, sp_group_fn fn, void *arg);

/*
 * Waits until no task is a member: every submitted task has returned and
 * no sp_group_go is still waiting for a slot. Then cancels the group's
 * context, as errgroup's Wait does in Go, and returns. Blocks; any thread,
 * including a pool worker (the pool runs a spare worker while it sleeps)
 * and a task of another group. A task must not wait for its own group:
 * it is a member itself, so the call would never return.
 *
 * Returns 0 when no task returned non-zero, otherwise the first non-zero
 * value a task returned; EINVAL for a NULL g. With no task it returns 0 at
 * once. Several threads may wait at the same time. The group may take new
 * tasks afterwards. They see a canceled context, and the next wait again
 * returns the first error recorded since the group was created.
 */
int sp_group_wait(sp_group *g);

/*
 * Returns the group's context, or NULL (logged) for a NULL g. It stays
 * valid until sp_group_destroy. Never blocks; any thread.
 */
sp_ctx *sp_group_ctx(sp_group *g);

/*
 * Frees the group and releases its context. Call it after sp_group_wait
 * has returned; using the group afterwards is undefined behaviour that the
 * library cannot detect. Destroying a group that still has members is a
 * caller's error: the call logs it, waits for the members as sp_group_wait
 * does (so it blocks), and only then frees the memory. NULL is ignored.
 */
void sp_group_destroy(sp_group *g);

#ifdef __cplusplus
}
#endif

#endif

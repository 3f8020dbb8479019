/*
 * The unit that deques and the injection queue carry. Submitted tasks,
 * join jobs and sp_pool_run records embed it as their first member.
 */
#ifndef SP_SCHED_TASK_H
#define SP_SCHED_TASK_H

#include <stealpool/join_impl.h>

typedef struct sp_worker sp_worker;

/* execute runs the task on a worker; the task may be freed once it
 * returns. next links the injection queue, under the queue's lock. The type
 * is defined beside the inline join, which builds tasks on the stack. */
typedef sp__task sp_task;

#endif

/*
 * The unit that deques and the injection queue carry. Submitted tasks,
 * join jobs and sp_pool_run records embed it as their first member.
 */
#ifndef SP_SCHED_TASK_H
#define SP_SCHED_TASK_H

typedef struct sp_worker sp_worker;

typedef struct sp_task {
    /* Runs the task on worker w; the task may be freed once it returns. */
    void (*execute)(struct sp_task *task, sp_worker *w);
    struct sp_task *next; /* injection queue link, under the queue's lock */
} sp_task;

#endif

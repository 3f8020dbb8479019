/*
 * Compensation for workers that block.
 *
 * A worker that is about to block in the library (a semaphore, channel,
 * group or sp_pool_run wait) calls sp__block_begin, and sp__block_end once it
 * runs again. While it is blocked the pool keeps its configured number of
 * runnable workers by waking or starting a spare worker thread, so tasks
 * that wait for other tasks cannot deadlock the pool. Outside a worker both
 * calls do nothing.
 */
#ifndef SP_SCHED_BLOCKING_H
#define SP_SCHED_BLOCKING_H

void sp__block_begin(void);
void sp__block_end(void);

#endif

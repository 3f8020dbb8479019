/* Weighted FIFO semaphore. */
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

int     sp_sem_create(sp_sem **out, int64_t capacity);
void    sp_sem_destroy(sp_sem *sem);
int     sp_sem_acquire(sp_sem *sem, int64_t n, sp_ctx *ctx);
bool    sp_sem_try_acquire(sp_sem *sem, int64_t n);
int     sp_sem_release(sp_sem *sem, int64_t n);
int64_t sp_sem_available(const sp_sem *sem);
int     sp_sem_submit(sp_sem *sem, int64_t n, sp_pool *pool, void (*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif

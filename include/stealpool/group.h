/* Error group: tasks on a pool, the first error cancels the rest. */
#ifndef STEALPOOL_GROUP_H
#define STEALPOOL_GROUP_H

#include <stdbool.h>

#include <stealpool/ctx.h>
#include <stealpool/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_group sp_group;
typedef int (*sp_group_fn)(sp_ctx *ctx, void *arg);

int     sp_group_create(sp_group **out, sp_pool *pool, sp_ctx *parent);
int     sp_group_set_limit(sp_group *g, int limit);
int     sp_group_go(sp_group *g, sp_group_fn fn, void *arg);
bool    sp_group_try_go(sp_group *g, sp_group_fn fn, void *arg);
int     sp_group_wait(sp_group *g);
sp_ctx *sp_group_ctx(sp_group *g);
void    sp_group_destroy(sp_group *g);

#ifdef __cplusplus
}
#endif

#endif

/* Bounded multi-producer multi-consumer channel. */
#ifndef STEALPOOL_CHAN_H
#define STEALPOOL_CHAN_H

#include <stdbool.h>
#include <stddef.h>

#include <stealpool/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_chan sp_chan;

int  sp_chan_create(sp_chan **out, size_t elem_size, size_t capacity);
int  sp_chan_send(sp_chan *ch, const void *elem, sp_ctx *ctx);
int  sp_chan_recv(sp_chan *ch, void *elem, sp_ctx *ctx);
bool sp_chan_try_send(sp_chan *ch, const void *elem);
bool sp_chan_try_recv(sp_chan *ch, void *elem);
int  sp_chan_close(sp_chan *ch);
void sp_chan_destroy(sp_chan *ch);

#ifdef __cplusplus
}
#endif

#endif

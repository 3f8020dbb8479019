/* Cancellation contexts and the monotonic clock. */
#ifndef STEALPOOL_CTX_H
#define STEALPOOL_CTX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_ctx sp_ctx;

sp_ctx *sp_ctx_background(void);
int     sp_ctx_with_cancel(sp_ctx *parent, sp_ctx **out);
int     sp_ctx_with_deadline(sp_ctx *parent, int64_t deadline_ns, sp_ctx **out);
int     sp_ctx_with_timeout(sp_ctx *parent, int64_t timeout_ns, sp_ctx **out);
void    sp_ctx_cancel(sp_ctx *ctx);
int     sp_ctx_err(const sp_ctx *ctx);
int64_t sp_ctx_deadline(const sp_ctx *ctx);
void    sp_ctx_release(sp_ctx *ctx);
int64_t sp_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif

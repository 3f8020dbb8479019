#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include <stealpool/pool.h>

/*
 * The hook and its argument change together, so they live in one record that
 * is replaced by pointer. Records are static slots that are never freed,
 * which lets a logging thread keep reading an old one safely.
 */
typedef struct log_hook {
    sp_log_fn fn;
    void     *user;
} log_hook;

enum { LOG_HOOK_SLOTS = 64 };

static log_hook log_hook_slots[LOG_HOOK_SLOTS];
static atomic_uint log_hook_next;
static _Atomic(log_hook *) log_current;

static void log_to_stderr(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "stealpool: %s\n", line);
}

void sp_set_log(sp_log_fn fn, void *user)
{
    if (fn == NULL) {
        /* release: pairs with the acquire load in sp__log */
        atomic_store_explicit(&log_current, NULL, memory_order_release);
        return;
    }

    /* relaxed: the slot index only needs to be unique, not ordered */
    unsigned slot = atomic_fetch_add_explicit(&log_hook_next, 1, memory_order_relaxed);
    log_hook *hook = &log_hook_slots[slot % LOG_HOOK_SLOTS];
    hook->fn = fn;
    hook->user = user;

    /* release: publishes fn and user to the acquire load in sp__log */
    atomic_store_explicit(&log_current, hook, memory_order_release);
}

void sp__log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);

    /* acquire: pairs with the release store in sp_set_log */
    log_hook *hook = atomic_load_explicit(&log_current, memory_order_acquire);
    if (hook == NULL)
        log_to_stderr(NULL, line);
    else
        hook->fn(hook->user, line);
}

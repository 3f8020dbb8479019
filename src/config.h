/* Pool settings: defaults, the SP_* environment table and validation. */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <sched.h>
#include <stdbool.h>

#include <stealpool/pool.h>

#define SP_STRINGIFY_VALUE(x) #x
#define SP_STRINGIFY(x) SP_STRINGIFY_VALUE(x)

#define SP_WORKERS_MAX 4096u
#define SP_SPIN_US_MAX 1000000u
#define SP_SPIN_US_DEFAULT 50
#define SP_DEQUE_CAPACITY_MIN 16u
#define SP_DEQUE_CAPACITY_MAX (1u << 24)
#define SP_DEQUE_CAPACITY_DEFAULT 256

/*
 * Applies the SP_* variables to cfg. With log_invalid, each invalid value is
 * logged; its field keeps its previous value. Returns EINVAL when any value
 * was invalid, 0 otherwise.
 */
int sp__config_apply_env(sp_config *cfg, bool log_invalid);

/*
 * Checks every field of cfg and resolves it into plan (the worker count and
 * its source) and the CPU of each worker (-1: not pinned). Logs the first
 * invalid field, prefixed with caller, and returns EINVAL. cpus must hold
 * SP_WORKERS_MAX entries.
 */
int sp__config_resolve_plan(const char *caller, const sp_config *cfg, sp_plan *plan,
                            int *cpus);

#endif

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "platform/cpus.h"

void sp_config_init(sp_config *cfg)
{
    if (cfg == NULL)
        return;

    memset(cfg, 0, sizeof *cfg);
    cfg->workers = 0;
    cfg->pin = SP_PIN_CORES;
    cfg->cpu_list = NULL;
    cfg->spin_us = SP_SPIN_US_DEFAULT;
    cfg->deque_capacity = SP_DEQUE_CAPACITY_DEFAULT;
    cfg->print_stats = false;
}

/* Parses the whole of text as a decimal number in [min, max]. */
static bool parse_unsigned(const char *text, unsigned long min, unsigned long max,
                           unsigned long *out)
{
    if (text[0] < '0' || text[0] > '9')
        return false;

    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;

    *out = value;
    return true;
}

static bool apply_workers(sp_config *cfg, const char *text)
{
    unsigned long value;
    if (!parse_unsigned(text, 1, SP_WORKERS_MAX, &value))
        return false;
    cfg->workers = (unsigned)value;
    return true;
}

static bool apply_pin(sp_config *cfg, const char *text)
{
    if (strcmp(text, "none") == 0) {
        cfg->pin = SP_PIN_NONE;
        return true;
    }
    if (strcmp(text, "cores") == 0) {
        cfg->pin = SP_PIN_CORES;
        cfg->cpu_list = NULL;
        return true;
    }

    cpu_set_t list, affinity;
    if (sp__cpu_list_parse(text, &list) != 0)
        return false;
    if (sched_getaffinity(0, sizeof affinity, &affinity) != 0)
        return false;
    CPU_AND(&list, &list, &affinity);
    cpu_set_t parsed;
    sp__cpu_list_parse(text, &parsed);
    if (!CPU_EQUAL(&list, &parsed))
        return false;

    cfg->pin = SP_PIN_LIST;
    cfg->cpu_list = text;
    return true;
}

static bool apply_spin_us(sp_config *cfg, const char *text)
{
    unsigned long value;
    if (!parse_unsigned(text, 0, SP_SPIN_US_MAX, &value))
        return false;
    cfg->spin_us = (unsigned)value;
    return true;
}

static bool is_power_of_two(unsigned long x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static bool apply_deque_capacity(sp_config *cfg, const char *text)
{
    unsigned long value;
    if (!parse_unsigned(text, SP_DEQUE_CAPACITY_MIN, SP_DEQUE_CAPACITY_MAX, &value) ||
        !is_power_of_two(value))
        return false;
    cfg->deque_capacity = (unsigned)value;
    return true;
}

/* The steal barrier is chosen once per process when the library loads
 * (src/platform/barrier.c); here the value is only validated. */
static bool check_steal_barrier(sp_config *cfg, const char *text)
{
    (void)cfg;
    return strcmp(text, "fence") == 0 || strcmp(text, "membarrier") == 0;
}

static bool apply_stats(sp_config *cfg, const char *text)
{
    if (strcmp(text, "0") == 0) {
        cfg->print_stats = false;
        return true;
    }
    if (strcmp(text, "1") == 0) {
        cfg->print_stats = true;
        return true;
    }
    return false;
}

/* The SP_* variables: name, accepted values as logged, parser. */
static const struct env_var {
    const char *name;
    const char *accepted;
    const char *default_value;
    const char *description;
    bool (*apply)(sp_config *cfg, const char *text);
} env_vars[] = {
    {"SP_WORKERS", "an integer from 1 to 4096", "one per usable CPU",
     "worker threads", apply_workers},
    {"SP_PIN", "none, cores, or a CPU list (ranges and commas) inside the affinity mask",
     "cores",
     "worker pinning: worker i on the i-th CPU of the mask or list", apply_pin},
    {"SP_SPIN_US", "an integer from 0 to 1000000 (microseconds)", SP_STRINGIFY(SP_SPIN_US_DEFAULT),
     "how long an idle worker searches for work before it parks, in microseconds",
     apply_spin_us},
    {"SP_DEQUE_CAPACITY", "a power of two from 16 to 16777216",
     SP_STRINGIFY(SP_DEQUE_CAPACITY_DEFAULT),
     "initial slots of each worker deque (deques grow on demand)", apply_deque_capacity},
    {"SP_STATS", "0 or 1", "0",
     "log the per-worker counters when a pool is destroyed (the default pool: at exit)",
     apply_stats},
    {"SP_STEAL_BARRIER", "fence or membarrier", "fence",
     "how thieves order their deque reads: fence (default) or membarrier, which makes "
     "the owner's pop fence-free but every steal cost a system call; read at program start",
     check_steal_barrier},
};

/* Returns true when text is a valid CPU list that names a CPU outside the
 * affinity mask, and writes the mask as a CPU list into allowed. */
static bool cpu_list_outside_mask(const char *text, const cpu_set_t *affinity, char *allowed,
                                  size_t size)
{
    cpu_set_t list, inside;
    if (text == NULL || sp__cpu_list_parse(text, &list) != 0)
        return false;

    CPU_AND(&inside, &list, affinity);
    if (CPU_EQUAL(&inside, &list))
        return false;
    sp__cpu_list_format(affinity, allowed, size);
    return true;
}

int sp__config_apply_env(sp_config *cfg, bool log_invalid)
{
    int rc = 0;

    for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++) {
        const char *text = getenv(env_vars[i].name);
        if (text == NULL)
            continue;
        if (env_vars[i].apply(cfg, text))
            continue;

        rc = EINVAL;
        if (!log_invalid)
            continue;

        cpu_set_t affinity;
        char allowed[256];
        if (env_vars[i].apply == apply_pin &&
            sched_getaffinity(0, sizeof affinity, &affinity) == 0 &&
            cpu_list_outside_mask(text, &affinity, allowed, sizeof allowed))
            sp__log("invalid SP_PIN=\"%s\": it names a CPU outside the process affinity mask "
                    "(allowed CPUs: %s); the value is ignored",
                    text, allowed);
        else
            sp__log("invalid %s=\"%s\": expected %s; the value is ignored", env_vars[i].name,
                    text, env_vars[i].accepted);
    }
    return rc;
}

int sp_config_from_env(sp_config *cfg)
{
    if (cfg == NULL) {
        sp__log("sp_config_from_env: cfg is NULL");
        return EINVAL;
    }
    return sp__config_apply_env(cfg, true);
}

/* Resolves the pinning plan into cpus[0 .. workers). */
static int resolve_pinning(const char *caller, const sp_config *cfg, const sp_cpu_info *info,
                           unsigned workers, int *cpus)
{
    cpu_set_t plan;

    switch (cfg->pin) {
    case SP_PIN_NONE:
        for (unsigned i = 0; i < workers; i++)
            cpus[i] = -1;
        return 0;

    case SP_PIN_CORES:
        plan = info->affinity;
        break;

    case SP_PIN_LIST: {
        if (cfg->cpu_list == NULL || sp__cpu_list_parse(cfg->cpu_list, &plan) != 0) {
            sp__log("%s: invalid cpu_list \"%s\": expected a CPU list such as 0-3,8", caller,
                    cfg->cpu_list ? cfg->cpu_list : "(null)");
            return EINVAL;
        }
        char allowed[256];
        if (cpu_list_outside_mask(cfg->cpu_list, &info->affinity, allowed, sizeof allowed)) {
            sp__log("%s: invalid cpu_list \"%s\": it names a CPU outside the process affinity "
                    "mask (allowed CPUs: %s)",
                    caller, cfg->cpu_list, allowed);
            return EINVAL;
        }
        break;
    }

    default:
        sp__log("%s: invalid pin mode %d: expected SP_PIN_NONE, SP_PIN_CORES or SP_PIN_LIST",
                caller, (int)cfg->pin);
        return EINVAL;
    }

    for (unsigned i = 0; i < workers; i++)
        cpus[i] = sp__cpu_set_nth(&plan, i);
    return 0;
}

int sp__config_resolve_plan(const char *caller, const sp_config *cfg, sp_plan *plan, int *cpus)
{
    if (cfg->workers > SP_WORKERS_MAX) {
        sp__log("%s: invalid workers %u: expected 0 (one per usable CPU) to %u", caller,
                cfg->workers, SP_WORKERS_MAX);
        return EINVAL;
    }
    if (cfg->spin_us > SP_SPIN_US_MAX) {
        sp__log("%s: invalid spin_us %u: expected 0 to %u", caller, cfg->spin_us,
                SP_SPIN_US_MAX);
        return EINVAL;
    }
    if (cfg->deque_capacity < SP_DEQUE_CAPACITY_MIN ||
        cfg->deque_capacity > SP_DEQUE_CAPACITY_MAX || !is_power_of_two(cfg->deque_capacity)) {
        sp__log("%s: invalid deque_capacity %u: expected a power of two from %u to %u", caller,
                cfg->deque_capacity, SP_DEQUE_CAPACITY_MIN, SP_DEQUE_CAPACITY_MAX);
        return EINVAL;
    }

    sp_cpu_info info;
    sp__cpu_info_read(&info);

    memset(plan, 0, sizeof *plan);
    plan->affinity_cpus = info.affinity_count;
    plan->quota_cpus = info.quota_cpus;
    memcpy(plan->quota_path, info.quota_path, sizeof plan->quota_path);
    if (cfg->workers != 0) {
        plan->workers = cfg->workers;
        plan->workers_source = "SP_WORKERS or sp_config.workers";
    } else {
        plan->workers = info.usable;
        plan->workers_source = info.quota_cpus != 0 && info.quota_cpus < info.affinity_count
                                   ? "cgroup cpu.max quota"
                                   : "affinity mask";
    }
    return resolve_pinning(caller, cfg, &info, plan->workers, cpus);
}

int sp_config_plan(const sp_config *cfg, sp_plan *plan, int *cpus, unsigned n)
{
    if (plan == NULL) {
        sp__log("sp_config_plan: plan is NULL");
        return EINVAL;
    }

    sp_config env_cfg;
    if (cfg == NULL) {
        sp_config_init(&env_cfg);
        sp__config_apply_env(&env_cfg, false);
        cfg = &env_cfg;
    }

    size_t all_size = SP_WORKERS_MAX * sizeof(int);
    int *all = sp__alloc(all_size, alignof(int));
    if (all == NULL)
        return ENOMEM;
    int rc = sp__config_resolve_plan("sp_config_plan", cfg, plan, all);
    if (rc == 0 && cpus != NULL) {
        for (unsigned i = 0; i < n; i++)
            cpus[i] = i < plan->workers ? all[i] : -1;
    }
    sp__free(all, all_size, alignof(int));
    return rc;
}

unsigned sp_config_env_entries(sp_env_entry *out, unsigned n)
{
    unsigned count = (unsigned)(sizeof env_vars / sizeof env_vars[0]);

    for (unsigned i = 0; i < count && out != NULL && i < n; i++) {
        const struct env_var *var = &env_vars[i];
        const char *text = getenv(var->name);
        sp_config scratch;
        sp_config_init(&scratch);

        out[i].name = var->name;
        out[i].value = text;
        out[i].valid = text == NULL || var->apply(&scratch, text);
        out[i].default_value = var->default_value;
        out[i].accepted = var->accepted;
        out[i].description = var->description;
    }
    return count;
}

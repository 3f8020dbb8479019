/*
 * Fuzz target for the SP_* environment parser (sp_config_from_env).
 *
 * Input: one byte whose bits choose which variables are set, then their
 * values separated by NUL bytes, in the order of sp_config_env_entries.
 * Each call sets those variables with setenv, unsets the others and parses.
 *
 * Checks, any of which traps:
 *   - sp_config_from_env returns EINVAL exactly when sp_config_env_entries
 *     marks a variable invalid, and logs one line per invalid variable;
 *   - every field stays in its documented range;
 *   - a CPU list stored in cfg parses again;
 *   - sp_config_plan accepts the result, because invalid variables keep
 *     the defaults.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stealpool/pool.h>

#include "platform/cpus.h"

enum { MAX_VARIABLES = 16, MAX_VALUE = 256 };

static int log_lines;

static void count_log(void *user, const char *line)
{
    (void)user;
    (void)line;
    log_lines++;
}

static void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sp_env_entry entries[MAX_VARIABLES];
    unsigned count = sp_config_env_entries(entries, MAX_VARIABLES);
    require(count <= MAX_VARIABLES);
    if (size == 0)
        return 0;
    sp_set_log(count_log, NULL);

    /* Names are static strings, so they outlive the setenv calls below. */
    const char *names[MAX_VARIABLES];
    for (unsigned i = 0; i < count; i++)
        names[i] = entries[i].name;

    unsigned set_mask = data[0];
    size_t pos = 1;
    for (unsigned i = 0; i < count; i++) {
        char value[MAX_VALUE + 1];
        size_t len = 0;
        while (pos < size && data[pos] != 0 && len < MAX_VALUE)
            value[len++] = (char)data[pos++];
        value[len] = '\0';
        if (pos < size)
            pos++;

        if (i < 8 && (set_mask >> i & 1u) != 0)
            setenv(names[i], value, 1);
        else
            unsetenv(names[i]);
    }

    sp_config cfg;
    sp_config_init(&cfg);
    log_lines = 0;
    int rc = sp_config_from_env(&cfg);

    unsigned invalid = 0;
    sp_config_env_entries(entries, MAX_VARIABLES);
    for (unsigned i = 0; i < count; i++)
        invalid += entries[i].valid ? 0 : 1;
    require(rc == (invalid != 0 ? EINVAL : 0));
    require(log_lines == (int)invalid);

    require(cfg.workers <= 4096);
    require(cfg.spin_us <= 1000000);
    require(cfg.deque_capacity >= 16 && cfg.deque_capacity <= (1u << 24));
    require((cfg.deque_capacity & (cfg.deque_capacity - 1)) == 0);
    require(cfg.pin == SP_PIN_NONE || cfg.pin == SP_PIN_CORES || cfg.pin == SP_PIN_LIST);
    if (cfg.pin == SP_PIN_LIST) {
        cpu_set_t set;
        require(cfg.cpu_list != NULL && sp__cpu_list_parse(cfg.cpu_list, &set) == 0);
    }

    sp_plan plan;
    int cpus[8];
    log_lines = 0;
    require(sp_config_plan(&cfg, &plan, cpus, 8) == 0);
    require(log_lines == 0);
    require(plan.workers >= 1 && plan.workers <= 4096);

    sp_set_log(NULL, NULL);
    return 0;
}

/*
 * stealpool-info: prints the configuration that a pool would get from the
 * current environment, where each value comes from, the usable CPUs and
 * the pinning plan. An invalid SP_* variable is replaced by its default, as
 * the library does, and the program prints the whole plan before it exits 1.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <stealpool.h>

enum { MAX_PRINTED_WORKERS = 4096 };

static void print_usage(FILE *out)
{
    fputs("usage: stealpool-info [--help]\n"
          "\n"
          "Prints the configuration a stealpool pool would get from the current\n"
          "environment: each SP_* variable with its value and whether it came from\n"
          "the environment or the default, the CPUs the process may use (affinity\n"
          "mask and cgroup v2 cpu.max quota), the worker count and its source, the\n"
          "pinning plan, and the library version and build options.\n"
          "\n"
          "An invalid SP_* variable is marked INVALID, and the CPUs and pinning plan\n"
          "shown are those a pool would get: the library ignores the invalid value\n"
          "and uses the default.\n"
          "\n"
          "Exit status: 0, or 1 when an SP_* variable is invalid (the library logs\n"
          "which one and the accepted values) or the plan cannot be resolved, 2 for\n"
          "a bad command line.\n",
          out);
}

/* Formats a CPU set as a list such as "0-3,8". */
static void format_cpu_list(const cpu_set_t *set, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';

    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, set))
            continue;
        int last = cpu;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
            last++;

        int written = last == cpu
                          ? snprintf(out + len, size - len, "%s%d", len ? "," : "", cpu)
                          : snprintf(out + len, size - len, "%s%d-%d", len ? "," : "", cpu, last);
        if (written < 0 || (size_t)written >= size - len)
            return;
        len += (size_t)written;
        cpu = last;
    }
}

/* Returns "" for one and "s" for any other count, for "1 CPU" and "2 CPUs". */
static const char *plural(unsigned count)
{
    return count == 1 ? "" : "s";
}

/*
 * Prints every SP_* variable, its value and where the value comes from.
 * affinity_list is the affinity mask as a CPU list, or NULL when unknown.
 * Writes the names of the invalid variables, separated by ", ", to
 * invalid_names and returns how many there are.
 */
static unsigned print_variables(const char *affinity_list, char *invalid_names, size_t size)
{
    sp_env_entry entries[16];
    unsigned count = sp_config_env_entries(entries, 16);
    unsigned invalid = 0;
    size_t used = 0;

    invalid_names[0] = '\0';
    printf("Environment\n");
    for (unsigned i = 0; i < count && i < 16; i++) {
        const sp_env_entry *e = &entries[i];
        const char *source = e->value == NULL ? "default"
                             : e->valid       ? "environment"
                                              : "INVALID, default used";
        printf("  %-18s %-20s %-22s %s\n", e->name, e->value != NULL ? e->value : e->default_value,
               source, e->description);
        if (e->valid)
            continue;

        printf("  %-18s accepted: %s\n", "", e->accepted);
        /* A CPU list must stay inside the affinity mask, so show the mask
         * as the list of CPUs that SP_PIN may name. */
        if (strcmp(e->name, "SP_PIN") == 0 && affinity_list != NULL)
            printf("  %-18s CPUs in the affinity mask: %s (for example SP_PIN=%s)\n", "",
                   affinity_list, affinity_list);

        int written = snprintf(invalid_names + used, size - used, "%s%s", invalid ? ", " : "",
                               e->name);
        if (written > 0 && (size_t)written < size - used)
            used += (size_t)written;
        invalid++;
    }
    return invalid;
}

static void print_cpus(const sp_plan *plan, const char *affinity_list)
{
    printf("\nCPUs\n");
    printf("  affinity mask      %u CPU%s: %s\n", plan->affinity_cpus, plural(plan->affinity_cpus),
           affinity_list != NULL ? affinity_list : "unknown");
    if (plan->quota_cpus != 0)
        printf("  cgroup quota       %u CPU%s (cpu.max of %s, rounded up)\n", plan->quota_cpus,
               plural(plan->quota_cpus), plan->quota_path);
    else
        printf("  cgroup quota       none\n");
    printf("  workers            %u (source: %s)\n", plan->workers, plan->workers_source);
}

static void print_pinning(const sp_plan *plan, const int *cpus)
{
    printf("\nPinning plan\n");
    unsigned shown = plan->workers < MAX_PRINTED_WORKERS ? plan->workers : MAX_PRINTED_WORKERS;
    for (unsigned i = 0; i < shown; i++) {
        if (cpus[i] < 0)
            printf("  worker %-4u not pinned\n", i);
        else
            printf("  worker %-4u CPU %d\n", i, cpus[i]);
    }
}

/* Resolves cfg and prints the CPUs and the pinning plan. Returns 0 or errno. */
static int print_plan(const sp_config *cfg, const char *affinity_list)
{
    static int cpus[MAX_PRINTED_WORKERS];
    sp_plan plan;
    int rc = sp_config_plan(cfg, &plan, cpus, MAX_PRINTED_WORKERS);
    if (rc != 0) {
        fprintf(stderr, "stealpool-info: resolving the pinning plan failed: %s\n", strerror(rc));
        return rc;
    }

    print_cpus(&plan, affinity_list);
    print_pinning(&plan, cpus);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return 0;
        }
        fprintf(stderr, "stealpool-info: unknown option '%s'\n", argv[i]);
        print_usage(stderr);
        return 2;
    }

    cpu_set_t mask;
    char mask_list[1024];
    const char *affinity_list = NULL;
    if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
        format_cpu_list(&mask, mask_list, sizeof mask_list);
        affinity_list = mask_list;
    }

    printf("stealpool %s\n  build: %s\n\n", sp_version(), sp_build_info());
    char invalid_names[256];
    unsigned invalid = print_variables(affinity_list, invalid_names, sizeof invalid_names);

    /* The library logs one line per invalid variable here. stdout is
     * flushed first so that the line follows the table it explains. */
    fflush(stdout);
    sp_config cfg;
    sp_config_init(&cfg);
    bool env_invalid = sp_config_from_env(&cfg) != 0;

    /* cfg now contains what sp_pool_create(NULL) would use: the valid
     * variables applied, and the defaults in place of the invalid ones. */
    if (print_plan(&cfg, affinity_list) != 0)
        return 1;

    if (invalid > 0 || env_invalid) {
        fflush(stdout);
        fprintf(stderr, "stealpool-info: invalid %s, so the plan above uses the default in "
                        "place of %s\n",
                invalid > 0 ? invalid_names : "SP_* variable",
                invalid > 1 ? "each invalid value" : "the invalid value");
        return 1;
    }
    return 0;
}

/*
 * stealpool-info: prints the configuration that a pool would get from the
 * current environment, where each value comes from, the usable CPUs and
 * the pinning plan. Exits 1 after the library's own message when an SP_*
 * variable is invalid.
 */
#define _GNU_SOURCE
#include <sched.h>
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
          "Exit status: 0, or 1 when an SP_* variable is invalid (the library logs\n"
          "which one and the accepted values), 2 for a bad command line.\n",
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

static int print_variables(void)
{
    sp_env_entry entries[16];
    unsigned count = sp_config_env_entries(entries, 16);
    int invalid = 0;

    printf("Environment\n");
    for (unsigned i = 0; i < count && i < 16; i++) {
        const sp_env_entry *e = &entries[i];
        const char *source = e->value == NULL ? "default"
                             : e->valid       ? "environment"
                                              : "INVALID, default used";
        printf("  %-18s %-20s %-22s %s\n", e->name, e->value != NULL ? e->value : e->default_value,
               source, e->description);
        if (!e->valid) {
            printf("  %-18s accepted: %s\n", "", e->accepted);
            invalid = 1;
        }
    }
    return invalid;
}

static void print_cpus(const sp_plan *plan)
{
    cpu_set_t mask;
    char list[1024] = "unknown";
    if (sched_getaffinity(0, sizeof mask, &mask) == 0)
        format_cpu_list(&mask, list, sizeof list);

    printf("\nCPUs\n");
    printf("  affinity mask      %u CPUs: %s\n", plan->affinity_cpus, list);
    if (plan->quota_cpus != 0)
        printf("  cgroup quota       %u CPUs (cpu.max of %s, rounded up)\n", plan->quota_cpus,
               plan->quota_path);
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

    printf("stealpool %s\n  build: %s\n\n", sp_version(), sp_build_info());
    int invalid = print_variables();

    sp_config cfg;
    sp_config_init(&cfg);
    if (sp_config_from_env(&cfg) != 0 || invalid) {
        fprintf(stderr, "stealpool-info: invalid SP_* variable (see the message above)\n");
        return 1;
    }

    static int cpus[MAX_PRINTED_WORKERS];
    sp_plan plan;
    if (sp_config_plan(&cfg, &plan, cpus, MAX_PRINTED_WORKERS) != 0) {
        fprintf(stderr, "stealpool-info: the configuration is invalid (see the message above)\n");
        return 1;
    }
    print_cpus(&plan);
    print_pinning(&plan, cpus);
    return 0;
}

/*
 * Usable CPUs: the affinity mask, the cgroup v2 CPU quota, CPU lists and
 * thread pinning.
 */
#ifndef SP_PLATFORM_CPUS_H
#define SP_PLATFORM_CPUS_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

/* Where the default worker count came from. */
typedef struct sp_cpu_info {
    cpu_set_t affinity;        /* sched_getaffinity of the process */
    unsigned  affinity_count;  /* CPUs in affinity */
    unsigned  quota_cpus;      /* ceil(quota / period) of the tightest cpu.max, 0 when none */
    char      quota_path[256]; /* the cgroup directory whose cpu.max set quota_cpus */
    unsigned  usable;          /* min(affinity_count, quota_cpus when set), at least 1 */
} sp_cpu_info;

/* Fills info for the calling process. Never fails: missing files mean no limit. */
void sp__cpu_info_read(sp_cpu_info *info);

/*
 * Returns ceil(quota / period) of the tightest cpu.max among the cgroup at
 * cgroup_path (relative to the cgroup v2 mount at root) and its ancestors,
 * or 0 when none sets a quota. Stores the directory that set it in
 * source (may be NULL, size source_size).
 */
unsigned sp__cgroup_quota_cpus(const char *root, const char *cgroup_path,
                               char *source, size_t source_size);

/*
 * Parses a CPU list such as "0-3,8" strictly into set: decimal numbers and
 * ascending ranges below CPU_SETSIZE, separated by commas, nothing else.
 * Returns 0 or EINVAL.
 */
int sp__cpu_list_parse(const char *text, cpu_set_t *set);

/* Writes set into out as a CPU list such as "0-3,8", the form that
 * sp__cpu_list_parse reads. A list longer than size is cut short. */
void sp__cpu_list_format(const cpu_set_t *set, char *out, size_t size);

/* Returns the index-th CPU of set, wrapping around its count; -1 when empty. */
int sp__cpu_set_nth(const cpu_set_t *set, unsigned index);

/* Pins thread to cpu. Returns 0 or the pthread error. */
int sp__pin_thread(pthread_t thread, int cpu);

#endif

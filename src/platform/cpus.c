#include "platform/cpus.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char cgroup_mount[] = "/sys/fs/cgroup";

/* Reads the cgroup v2 path ("0::/a/b") of this process into path. */
static bool read_own_cgroup(char *path, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL)
        return false;

    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        int written = snprintf(path, size, "%s", line + 3);
        found = written >= 0 && (size_t)written < size;
        break;
    }
    fclose(f);
    return found;
}

/* Returns ceil(quota / period) from one cpu.max file, 0 for "max" or none. */
static unsigned read_cpu_max(const char *dir)
{
    char file[600];
    int written = snprintf(file, sizeof file, "%s/cpu.max", dir);
    if (written < 0 || (size_t)written >= sizeof file)
        return 0;
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return 0;

    char quota_text[32] = "";
    unsigned long long period = 0;
    int fields = fscanf(f, "%31s %llu", quota_text, &period);
    fclose(f);
    if (fields != 2 || period == 0 || strcmp(quota_text, "max") == 0)
        return 0;

    char *end;
    errno = 0;
    unsigned long long quota = strtoull(quota_text, &end, 10);
    if (errno != 0 || *end != '\0' || quota == 0)
        return 0;

    unsigned long long cpus = quota / period + (quota % period != 0);
    return cpus > UINT_MAX ? UINT_MAX : (unsigned)cpus;
}

unsigned sp__cgroup_quota_cpus(const char *root, const char *cgroup_path,
                               char *source, size_t source_size)
{
    char dir[512];
    int written = snprintf(dir, sizeof dir, "%s%s", root, cgroup_path);
    if (written < 0 || (size_t)written >= sizeof dir)
        return 0;
    size_t root_len = strlen(root);
    unsigned tightest = 0;

    /* Walk from the process's cgroup up to the mount point. */
    for (;;) {
        unsigned cpus = read_cpu_max(dir);
        if (cpus != 0 && (tightest == 0 || cpus < tightest)) {
            tightest = cpus;
            if (source != NULL && snprintf(source, source_size, "%s", dir) < 0)
                source[0] = '\0';
        }

        char *slash = strrchr(dir, '/');
        if (slash == NULL || (size_t)(slash - dir) < root_len)
            break;
        *slash = '\0';
    }
    return tightest;
}

void sp__cpu_info_read(sp_cpu_info *info)
{
    memset(info, 0, sizeof *info);

    if (sched_getaffinity(0, sizeof info->affinity, &info->affinity) == 0) {
        info->affinity_count = (unsigned)CPU_COUNT(&info->affinity);
    } else {
        CPU_ZERO(&info->affinity);
        CPU_SET(0, &info->affinity);
        info->affinity_count = 1;
    }

    char path[400];
    if (read_own_cgroup(path, sizeof path))
        info->quota_cpus = sp__cgroup_quota_cpus(cgroup_mount, path, info->quota_path,
                                                 sizeof info->quota_path);

    info->usable = info->affinity_count;
    if (info->quota_cpus != 0 && info->quota_cpus < info->usable)
        info->usable = info->quota_cpus;
    if (info->usable == 0)
        info->usable = 1;
}

/* Parses one decimal CPU number at *text, advancing it. */
static bool parse_cpu_number(const char **text, long *out)
{
    const char *p = *text;
    if (*p < '0' || *p > '9')
        return false;

    long value = 0;
    while (*p >= '0' && *p <= '9') {
        value = value * 10 + (*p - '0');
        if (value >= CPU_SETSIZE)
            return false;
        p++;
    }
    *text = p;
    *out = value;
    return true;
}

void sp__cpu_list_format(const cpu_set_t *set, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';

    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, set))
            continue;

        int last = cpu;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
            last++;
        const char *separator = used == 0 ? "" : ",";
        int written = last == cpu
                          ? snprintf(out + used, size - used, "%s%d", separator, cpu)
                          : snprintf(out + used, size - used, "%s%d-%d", separator, cpu, last);
        if (written < 0 || (size_t)written >= size - used)
            return;
        used += (size_t)written;
        cpu = last;
    }
}

int sp__cpu_list_parse(const char *text, cpu_set_t *set)
{
    if (text == NULL || set == NULL)
        return EINVAL;

    CPU_ZERO(set);
    const char *p = text;
    for (;;) {
        long first, last;
        if (!parse_cpu_number(&p, &first))
            return EINVAL;
        last = first;
        if (*p == '-') {
            p++;
            if (!parse_cpu_number(&p, &last) || last < first)
                return EINVAL;
        }
        for (long cpu = first; cpu <= last; cpu++)
            CPU_SET((int)cpu, set);

        if (*p == '\0')
            return 0;
        if (*p != ',')
            return EINVAL;
        p++;
    }
}

int sp__cpu_set_nth(const cpu_set_t *set, unsigned index)
{
    int count = CPU_COUNT(set);
    if (count == 0)
        return -1;

    unsigned want = index % (unsigned)count;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, set))
            continue;
        if (want == 0)
            return cpu;
        want--;
    }
    return -1;
}

int sp__pin_thread(pthread_t thread, int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return pthread_setaffinity_np(thread, sizeof one, &one);
}

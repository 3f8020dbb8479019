/*
 * Fuzz target for the CPU-list parser (sp__cpu_list_parse), checked
 * against a second, plain implementation of the same grammar:
 *
 *     list  = range { "," range }
 *     range = cpu [ "-" cpu ]        first <= last
 *     cpu   = digit { digit }        value below CPU_SETSIZE
 *
 * The two must agree on acceptance and on the set. For an accepted list,
 * sp__cpu_set_nth must walk the set in ascending order and wrap, and
 * sp__cpu_list_format must write a list that parses back to the same set.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform/cpus.h"

enum { MAX_TEXT = 512 };

/* Room for the longest list of CPU_SETSIZE CPUs: every other one, each
 * written with its comma. */
enum { MAX_FORMATTED = 8192 };

static void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

static bool reference_cpu(const char **p, long *out)
{
    if (**p < '0' || **p > '9')
        return false;
    long value = 0;
    while (**p >= '0' && **p <= '9') {
        value = value * 10 + (**p - '0');
        if (value >= CPU_SETSIZE)
            return false;
        (*p)++;
    }
    *out = value;
    return true;
}

static bool reference_parse(const char *text, cpu_set_t *set)
{
    CPU_ZERO(set);
    const char *p = text;
    for (;;) {
        long first, last;
        if (!reference_cpu(&p, &first))
            return false;
        last = first;
        if (*p == '-') {
            p++;
            if (!reference_cpu(&p, &last) || last < first)
                return false;
        }
        for (long cpu = first; cpu <= last; cpu++)
            CPU_SET((size_t)cpu, set);
        if (*p == '\0')
            return true;
        if (*p++ != ',')
            return false;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[MAX_TEXT + 1];
    size_t len = size < MAX_TEXT ? size : MAX_TEXT;
    memcpy(text, data, len);
    text[len] = '\0';

    cpu_set_t parsed, expected;
    int rc = sp__cpu_list_parse(text, &parsed);
    bool ok = reference_parse(text, &expected);
    require(rc == 0 || rc == EINVAL);
    require((rc == 0) == ok);
    if (!ok)
        return 0;
    require(CPU_EQUAL(&parsed, &expected));

    int count = CPU_COUNT(&parsed);
    require(count >= 1);
    int previous = -1;
    for (int i = 0; i < count; i++) {
        int cpu = sp__cpu_set_nth(&parsed, (unsigned)i);
        require(cpu > previous && CPU_ISSET(cpu, &parsed));
        previous = cpu;
    }
    require(sp__cpu_set_nth(&parsed, (unsigned)count) == sp__cpu_set_nth(&parsed, 0));

    static char formatted[MAX_FORMATTED];
    cpu_set_t reparsed;
    sp__cpu_list_format(&parsed, formatted, sizeof formatted);
    require(sp__cpu_list_parse(formatted, &reparsed) == 0);
    require(CPU_EQUAL(&reparsed, &parsed));
    return 0;
}

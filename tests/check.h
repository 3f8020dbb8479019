/*
 * Minimal assertion and timing helpers for the ctest executables.
 *
 * Every CHECK prints the expression, both values and file:line, counts the
 * failure and lets the test continue; the test exits non-zero at the end if
 * anything failed. Tests size their work with sp_test_scale(), which the
 * sanitizer presets raise through SP_TEST_SCALE (work is divided by it and
 * time limits multiplied by it).
 */
#ifndef SP_TESTS_CHECK_H
#define SP_TESTS_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);  \
            check_failures++;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_INT_OP(a, op, b)                                                        \
    do {                                                                              \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);               \
        if (!(check_a_ op check_b_)) {                                                \
            fprintf(stderr, "%s:%d: CHECK(%s %s %s) failed: %lld vs %lld\n",          \
                    __FILE__, __LINE__, #a, #op, #b, check_a_, check_b_);             \
            check_failures++;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_EQ(a, b) CHECK_INT_OP(a, ==, b)
#define CHECK_NE(a, b) CHECK_INT_OP(a, !=, b)
#define CHECK_LT(a, b) CHECK_INT_OP(a, <, b)
#define CHECK_LE(a, b) CHECK_INT_OP(a, <=, b)
#define CHECK_GT(a, b) CHECK_INT_OP(a, >, b)
#define CHECK_GE(a, b) CHECK_INT_OP(a, >=, b)

#define CHECK_NEAR(a, b, tolerance)                                                   \
    do {                                                                              \
        double check_a_ = (double)(a), check_b_ = (double)(b);                        \
        double check_diff_ = check_a_ > check_b_ ? check_a_ - check_b_                \
                                                 : check_b_ - check_a_;               \
        if (check_diff_ > (double)(tolerance)) {                                      \
            fprintf(stderr, "%s:%d: CHECK_NEAR(%s, %s, %s) failed: %.9g vs %.9g\n",   \
                    __FILE__, __LINE__, #a, #b, #tolerance, check_a_, check_b_);      \
            check_failures++;                                                         \
        }                                                                             \
    } while (0)

/* Runs one test function and reports its name. */
#define RUN_TEST(fn)                                                                  \
    do {                                                                              \
        int check_before_ = check_failures;                                           \
        fprintf(stderr, "[ RUN  ] %s\n", #fn);                                        \
        fn();                                                                         \
        fprintf(stderr, "[ %s ] %s\n",                                                \
                check_failures == check_before_ ? " OK " : "FAIL", #fn);              \
    } while (0)

static inline int check_exit_code(void)
{
    if (check_failures != 0)
        fprintf(stderr, "%d check(s) failed\n", check_failures);
    return check_failures == 0 ? 0 : 1;
}

/* Returns SP_TEST_SCALE (1 when unset): divide work, multiply time limits. */
static inline int sp_test_scale(void)
{
    const char *text = getenv("SP_TEST_SCALE");
    int scale = text != NULL ? atoi(text) : 1;
    return scale < 1 ? 1 : scale;
}

static inline int64_t test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void test_sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Returns the Threads: line of /proc/self/status. */
static inline int test_thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    int threads = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %d", &threads) == 1)
            break;
    fclose(f);
    return threads;
}

/* Returns VmRSS in KiB. */
static inline long test_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long rss = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &rss) == 1)
            break;
    fclose(f);
    return rss;
}

/* xorshift64*: small seeded generator for stress tests. */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif

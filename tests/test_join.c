/* sp_join and sp_parallel_for: results, coverage and nesting. */
#include <stdatomic.h>
#include <stdint.h>

#include <stealpool.h>

#include "check.h"
#include "test_support.h"

typedef struct fib_arg {
    int      n;
    uint64_t result;
} fib_arg;

static void fib_task(void *p)
{
    fib_arg *arg = p;
    if (arg->n < 2) {
        arg->result = (uint64_t)arg->n;
        return;
    }
    fib_arg a = {arg->n - 1, 0}, b = {arg->n - 2, 0};
    sp_join(fib_task, &a, fib_task, &b);
    arg->result = a.result + b.result;
}

static void join_fib_known_answer(void)
{
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        sp_pool *pool = make_pool(workers);
        fib_arg arg = {30, 0};
        CHECK_EQ(sp_pool_run(pool, fib_task, &arg), 0);
        CHECK_EQ(arg.result, 832040);
        CHECK_EQ(sp_pool_destroy(pool), 0);
    }
}

static void join_from_outside_uses_default_pool(void)
{
    fib_arg a = {20, 0}, b = {21, 0};
    sp_join(fib_task, &a, fib_task, &b);
    CHECK_EQ(a.result, 6765);
    CHECK_EQ(b.result, 10946);
    CHECK(sp_default_pool() != NULL);
    CHECK_EQ(sp_pool_destroy(sp_default_pool()), EINVAL);
}

typedef struct coverage {
    _Atomic uint8_t *hits;
    size_t           begin;
    size_t           grain;
    _Atomic int      short_chunks;
    size_t           end;
} coverage;

static void mark_range(size_t lo, size_t hi, void *p)
{
    coverage *cov = p;
    if (hi - lo < cov->grain && hi != cov->end)
        atomic_fetch_add_explicit(&cov->short_chunks, 1, memory_order_relaxed);
    for (size_t i = lo; i < hi; i++)
        atomic_fetch_add_explicit(&cov->hits[i - cov->begin], 1, memory_order_relaxed);
}

static void check_coverage(sp_pool *pool, size_t begin, size_t end, size_t grain)
{
    size_t count = end - begin;
    coverage cov = {.begin = begin, .grain = grain, .end = end};
    cov.hits = calloc(count + 1, 1);
    atomic_init(&cov.short_chunks, 0);

    CHECK_EQ(sp_parallel_for(pool, begin, end, grain, mark_range, &cov), 0);

    size_t wrong = 0;
    for (size_t i = 0; i < count; i++)
        wrong += atomic_load_explicit(&cov.hits[i], memory_order_relaxed) != 1;
    CHECK_EQ(wrong, 0);
    free((void *)cov.hits);
}

static void parallel_for_covers_each_index_once(void)
{
    sp_pool *pool = make_pool(2);
    size_t huge = 3000000 / (size_t)sp_test_scale();
    const size_t cases[][3] = {
        {0, 0, 0}, {5, 5, 1}, {0, 1, 0}, {0, 1, 7}, {3, 4, 1}, {0, 7, 2}, {1, 1000, 3},
        {0, 999, 0}, {0, 1001, 1000}, {0, 1001, 5000}, {100, 100 + 12345, 0},
        {0, huge, 0}, {0, huge, 1}, {SIZE_MAX - 1000, SIZE_MAX, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_coverage(pool, cases[i][0], cases[i][1], cases[i][2]);

    CHECK_EQ(sp_parallel_for(pool, 5, 4, 1, mark_range, NULL), EINVAL);
    CHECK_EQ(sp_parallel_for(pool, 0, 4, 1, NULL, NULL), EINVAL);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

int main(void)
{
    RUN_TEST(join_fib_known_answer);
    RUN_TEST(join_from_outside_uses_default_pool);
    RUN_TEST(parallel_for_covers_each_index_once);
    return check_exit_code();
}

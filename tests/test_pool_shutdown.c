/* sp_pool_destroy while tasks keep spawning, and create/destroy churn. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <stealpool.h>

#include "check.h"

enum { TREE_DEPTH = 14, TREE_NODES = (1 << TREE_DEPTH) - 1 };

/* A binary tree of tasks in heap numbering: node n (1-based) submits 2n
 * and 2n + 1 while they are at most TREE_NODES. */
typedef struct tree_run {
    sp_pool         *pool;
    uint64_t         seed;
    _Atomic uint64_t accepted;
    _Atomic uint64_t rejected;
    _Atomic uint64_t executed;
    _Atomic uint64_t started_after_destroy;
    _Atomic bool     destroy_returned;
} tree_run;

static tree_run tree;

static void busy_ns(int64_t ns)
{
    int64_t end = test_now_ns() + ns;
    while (test_now_ns() < end) {
    }
}

static void tree_submit(uint64_t node);

static void tree_node(void *arg)
{
    uint64_t node = (uint64_t)(uintptr_t)arg;

    /* seq_cst: pairs with the store after sp_pool_destroy returns, so a
     * task that starts later sees it */
    if (atomic_load_explicit(&tree.destroy_returned, memory_order_seq_cst))
        atomic_fetch_add_explicit(&tree.started_after_destroy, 1, memory_order_relaxed);
    /* relaxed: the counters are read after sp_pool_destroy returns */
    atomic_fetch_add_explicit(&tree.executed, 1, memory_order_relaxed);

    /* 0-50 us of work, fixed per node by the seed. */
    uint64_t state = tree.seed ^ (node * 0x9E3779B97F4A7C15ULL);
    busy_ns((int64_t)(test_rand(&state) % 50001));

    if (2 * node <= TREE_NODES)
        tree_submit(2 * node);
    if (2 * node + 1 <= TREE_NODES)
        tree_submit(2 * node + 1);
}

static void tree_submit(uint64_t node)
{
    int rc = sp_submit(tree.pool, tree_node, (void *)(uintptr_t)node);
    /* relaxed: read after sp_pool_destroy returns */
    if (rc == 0)
        atomic_fetch_add_explicit(&tree.accepted, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&tree.rejected, 1, memory_order_relaxed);
}

static void shutdown_drains_spawning_tree(void)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 4;
    CHECK_EQ(sp_pool_create(&tree.pool, &cfg), 0);
    if (tree.pool == NULL)
        return;
    tree.seed = 0x7ee5eedULL;
    atomic_init(&tree.accepted, 0);
    atomic_init(&tree.rejected, 0);
    atomic_init(&tree.executed, 0);
    atomic_init(&tree.started_after_destroy, 0);
    atomic_init(&tree.destroy_returned, false);

    tree_submit(1);
    test_sleep_ns(1000000);

    int64_t destroy_start = test_now_ns();
    CHECK_EQ(sp_pool_destroy(tree.pool), 0);
    int64_t destroy_ns = test_now_ns() - destroy_start;
    /* seq_cst: pairs with the load at the start of tree_node */
    atomic_store_explicit(&tree.destroy_returned, true, memory_order_seq_cst);

    uint64_t accepted = atomic_load_explicit(&tree.accepted, memory_order_relaxed);
    uint64_t rejected = atomic_load_explicit(&tree.rejected, memory_order_relaxed);
    uint64_t executed = atomic_load_explicit(&tree.executed, memory_order_relaxed);
    fprintf(stderr, "  %" PRIu64 " accepted, %" PRIu64 " rejected, %" PRIu64
                    " executed; destroy took %.1f ms\n",
            accepted, rejected, executed, (double)destroy_ns / 1e6);

    CHECK_EQ(executed, accepted);
    /* Submits from the pool's own workers are accepted while it drains, so
     * the whole tree runs. */
    CHECK_EQ(rejected, 0);
    CHECK_EQ(executed, TREE_NODES);
    CHECK_EQ(atomic_load_explicit(&tree.started_after_destroy, memory_order_relaxed), 0);
    CHECK_LT(destroy_ns, 10000000000LL * sp_test_scale());
}

static void trivial_task(void *arg)
{
    (void)arg;
}

/* Waits until the thread count drops to expected: a joined thread can stay
 * in the count for a moment after pthread_join returns. */
static int settled_thread_count(int expected)
{
    int64_t deadline = test_now_ns() + 2000000000LL * sp_test_scale();
    int threads = test_thread_count();
    while (threads != expected && test_now_ns() < deadline) {
        test_sleep_ns(100000);
        threads = test_thread_count();
    }
    return threads;
}

static void shutdown_churn_restores_threads(void)
{
    static const unsigned worker_counts[] = {1, 2, 3, 8, 33};
    const int rounds = 2000 / sp_test_scale();
    const int threads_before = test_thread_count();
    const int64_t destroy_bound = 1000000000LL * sp_test_scale();
    uint64_t rng = 0xc4a2ULL;
    int slow_destroys = 0, thread_mismatches = 0, failures = 0;
    int64_t slowest = 0;
    int64_t start = test_now_ns();

    for (int i = 0; i < rounds; i++) {
        sp_config cfg;
        sp_config_init(&cfg);
        cfg.workers = worker_counts[i % 5];
        sp_pool *pool = NULL;
        if (sp_pool_create(&pool, &cfg) != 0) {
            failures++;
            continue;
        }

        uint64_t tasks = test_rand(&rng) % 4;
        for (uint64_t t = 0; t < tasks; t++)
            failures += sp_submit(pool, trivial_task, NULL) != 0;

        int64_t destroy_start = test_now_ns();
        failures += sp_pool_destroy(pool) != 0;
        int64_t destroy_ns = test_now_ns() - destroy_start;
        if (destroy_ns > slowest)
            slowest = destroy_ns;
        slow_destroys += destroy_ns >= destroy_bound;

        int threads = settled_thread_count(threads_before);
        if (threads != threads_before) {
            if (thread_mismatches == 0)
                fprintf(stderr, "  round %d (%u workers): %d threads, expected %d\n", i,
                        cfg.workers, threads, threads_before);
            thread_mismatches++;
        }
    }
    int64_t total_ns = test_now_ns() - start;

    fprintf(stderr, "  %d rounds in %.2f s, slowest destroy %.3f ms\n", rounds,
            (double)total_ns / 1e9, (double)slowest / 1e6);
    CHECK_EQ(failures, 0);
    CHECK_EQ(slow_destroys, 0);
    CHECK_EQ(thread_mismatches, 0);
    CHECK_LT(total_ns, 120000000000LL);
}

int main(void)
{
    RUN_TEST(shutdown_drains_spawning_tree);
    RUN_TEST(shutdown_churn_restores_threads);
    return check_exit_code();
}

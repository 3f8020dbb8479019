/*
 * Known answers of the fork-join workloads shared with the benchmarks:
 * fib through sp_join, n-queens with one task per placement, and UTS trees
 * with their published node, leaf and depth counts, each on pools of 1, 2
 * and 4 workers (4 oversubscribes a 2-CPU machine and must still finish).
 */
#include <errno.h>

#include <stealpool/pool.h>

#include "check.h"
#include "fib.h"
#include "nqueens.h"
#include "uts.h"
#include "uts_sp.h"

static const unsigned worker_counts[] = {1, 2, 4};
#define WORKER_COUNTS (sizeof worker_counts / sizeof worker_counts[0])

/*
 * Smaller trees for sanitizer builds, where T1 and T3 on every pool take
 * too long. Their counts come from uts_count_seq, which reproduces the
 * published T1 and T3 counts (checked first by uts_seq_matches_table). The
 * binomial one keeps T3's long thin chains (depth 261).
 */
static const uts_named_tree small_trees[] = {
    {"T1 at depth 8", "-t 1 -a 3 -d 8 -b 4 -r 19", {257042, 205878, 8}},
    {"binomial q=0.123", "-t 0 -b 2000 -q 0.123 -m 8 -r 42", {247729, 217012, 261}},
};

static sp_pool *create_pool(unsigned workers)
{
    sp_config config;
    sp_config_init(&config);
    config.workers = workers;

    sp_pool *pool = NULL;
    int rc = sp_pool_create(&pool, &config);
    CHECK_EQ(rc, 0);
    return rc == 0 ? pool : NULL;
}

static void parse_tree(const uts_named_tree *tree, uts_params *p)
{
    char error[200] = "";
    uts_params_init(p);
    int rc = uts_params_parse(p, tree->args, error, sizeof error);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", tree->name, error);
    CHECK_EQ(rc, 0);
}

static void check_counts(const char *what, const uts_counts *got, const uts_counts *expected)
{
    if (got->nodes != expected->nodes || got->leaves != expected->leaves ||
        got->max_depth != expected->max_depth)
        fprintf(stderr, "%s: %llu nodes, %llu leaves, depth %u\n", what,
                (unsigned long long)got->nodes, (unsigned long long)got->leaves,
                (unsigned)got->max_depth);
    CHECK_EQ(got->nodes, expected->nodes);
    CHECK_EQ(got->leaves, expected->leaves);
    CHECK_EQ(got->max_depth, expected->max_depth);
}

static void uts_seq_matches_table(void)
{
    const char *names[] = {"T1", "T3"};
    for (size_t i = 0; i < 2; i++) {
        const uts_named_tree *tree = uts_tree_find(names[i]);
        CHECK(tree != NULL);
        if (tree == NULL)
            continue;

        uts_params p;
        parse_tree(tree, &p);
        uts_counts counts;
        uts_count_seq(&p, &counts);
        check_counts(tree->name, &counts, &tree->expected);
    }

    for (size_t i = 0; i < sizeof small_trees / sizeof small_trees[0]; i++) {
        uts_params p;
        parse_tree(&small_trees[i], &p);
        uts_counts counts;
        uts_count_seq(&p, &counts);
        check_counts(small_trees[i].name, &counts, &small_trees[i].expected);
    }
}

static void uts_params_parse_rejects_bad_input(void)
{
    static const char *const bad[] = {
        "-x 1",   "-t 2",   "-t",        "-b 0",    "-b -1",  "-q 1.5", "-m 0",
        "-m 101", "-d 0",   "-a 1",      "-r -3",   "-b 4x",  "t 1",    "-tt 1",
        "-r 2147483648",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uts_params p;
        uts_params_init(&p);
        char error[200] = "";
        int rc = uts_params_parse(&p, bad[i], error, sizeof error);
        if (rc != EINVAL)
            fprintf(stderr, "accepted '%s'\n", bad[i]);
        CHECK_EQ(rc, EINVAL);
        CHECK(error[0] != '\0');
    }

    uts_params p;
    uts_params_init(&p);
    CHECK_EQ(uts_params_parse(&p, "", NULL, 0), 0);
    CHECK_EQ(uts_params_parse(&p, "  -t 0\t-b 7.5 -q 0.25 -m 3 -r 5 ", NULL, 0), 0);
    CHECK_EQ(p.type, UTS_BINOMIAL);
    CHECK_NEAR(p.branching, 7.5, 0);
    CHECK_NEAR(p.non_leaf_probability, 0.25, 0);
    CHECK_EQ(p.non_leaf_children, 3);
    CHECK_EQ(p.seed, 5);
    CHECK_EQ(uts_params_parse(NULL, "-t 1", NULL, 0), EINVAL);
    CHECK(uts_tree_find("T2") == NULL);
}

static void fib_seq_known_answers(void)
{
    CHECK_EQ(fib_seq(0), 0);
    CHECK_EQ(fib_seq(1), 1);
    CHECK_EQ(fib_seq(30), 832040);
    CHECK_EQ(fib_seq_calls(32), 2178309);
    CHECK_EQ(fib_iterative(32), 2178309);
    CHECK_EQ(fib_call_count(0), 1);
    CHECK_EQ(fib_call_count(2), 3);
    CHECK_EQ(fib_call_count(32), 2 * 3524578 - 1);
}

static void fib_join_known_answer(void)
{
    for (size_t w = 0; w < WORKER_COUNTS; w++) {
        sp_pool *pool = create_pool(worker_counts[w]);
        if (pool == NULL)
            continue;

        uint64_t result = 0;
        CHECK_EQ(fib_sp(pool, 30, &result), 0);
        CHECK_EQ(result, 832040);
        CHECK_EQ(fib_sp(pool, 1, &result), 0);
        CHECK_EQ(result, 1);

        CHECK_EQ(sp_pool_destroy(pool), 0);
    }
}

static void nqueens_seq_known_answers(void)
{
    CHECK_EQ(nqueens_seq(1), 1);
    CHECK_EQ(nqueens_seq(3), 0);
    CHECK_EQ(nqueens_seq(8), 92);
    CHECK_EQ(nqueens_seq(10), 724);
    CHECK_EQ(nqueens_seq(12), 14200);
    CHECK_EQ(nqueens_seq(0), 0);
    CHECK_EQ(nqueens_seq(NQUEENS_MAX_N + 1), 0);
    /* Placements on 4x4: 4 + 6 + 4 + 2 = 16 nodes below the empty board. */
    CHECK_EQ(nqueens_placements(4), 16);
}

static void nqueens_join_known_answers(void)
{
    for (size_t w = 0; w < WORKER_COUNTS; w++) {
        sp_pool *pool = create_pool(worker_counts[w]);
        if (pool == NULL)
            continue;

        uint64_t result = 0;
        CHECK_EQ(nqueens_sp(pool, 10, &result), 0);
        CHECK_EQ(result, 724);
        CHECK_EQ(nqueens_sp(pool, 12, &result), 0);
        CHECK_EQ(result, 14200);
        CHECK_EQ(nqueens_sp(pool, 3, &result), 0);
        CHECK_EQ(result, 0);
        CHECK_EQ(nqueens_sp(pool, 0, &result), EINVAL);

        CHECK_EQ(sp_pool_destroy(pool), 0);
    }
}

static void uts_join_known_answers(void)
{
    const uts_named_tree *trees[2] = {uts_tree_find("T1"), uts_tree_find("T3")};

    /* Sanitizer builds run the smaller trees: T1 and T3 on three pools
     * would take several minutes there. */
    if (sp_test_scale() > 1) {
        trees[0] = &small_trees[0];
        trees[1] = &small_trees[1];
    }

    for (size_t w = 0; w < WORKER_COUNTS; w++) {
        sp_pool *pool = create_pool(worker_counts[w]);
        if (pool == NULL)
            continue;

        for (size_t t = 0; t < 2; t++) {
            uts_params p;
            parse_tree(trees[t], &p);
            uts_counts counts = {0, 0, 0};
            CHECK_EQ(uts_count_sp(pool, &p, &counts), 0);

            char what[96];
            snprintf(what, sizeof what, "%s on %u workers", trees[t]->name, worker_counts[w]);
            check_counts(what, &counts, &trees[t]->expected);
        }

        CHECK_EQ(sp_pool_destroy(pool), 0);
    }
}

int main(void)
{
    RUN_TEST(uts_seq_matches_table);
    RUN_TEST(uts_params_parse_rejects_bad_input);
    RUN_TEST(fib_seq_known_answers);
    RUN_TEST(nqueens_seq_known_answers);
    RUN_TEST(fib_join_known_answer);
    RUN_TEST(nqueens_join_known_answers);
    RUN_TEST(uts_join_known_answers);
    return check_exit_code();
}

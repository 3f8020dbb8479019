// F1, F2 and F3 on oneTBB: tbb::task_group for every fork, run inside a
// task_arena sized to the requested thread count.
#include "ref.h"

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <new>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/version.h>

#include "nqueens.h"

namespace {

std::uint64_t fib(unsigned n)
{
    if (n < 2)
        return n;

    std::uint64_t a = 0;
    std::uint64_t b = 0;
    tbb::task_group group;
    group.run([&b, n] { b = fib(n - 2); });
    a = fib(n - 1);
    group.wait();
    return a + b;
}

std::uint64_t nqueens_solve(const nqueens_board &board);

std::uint64_t nqueens_columns(const nqueens_board &board, std::uint32_t columns)
{
    if ((columns & (columns - 1)) == 0) {
        nqueens_board next = nqueens_place(&board, columns);
        return nqueens_solve(next);
    }

    std::uint32_t lower = nqueens_lower_half(columns);
    std::uint64_t left = 0;
    std::uint64_t right = 0;
    tbb::task_group group;
    group.run([&] { right = nqueens_columns(board, columns ^ lower); });
    left = nqueens_columns(board, lower);
    group.wait();
    return left + right;
}

std::uint64_t nqueens_solve(const nqueens_board &board)
{
    if (board.row == board.n)
        return 1;

    std::uint32_t columns = nqueens_free_columns(&board);
    if (columns == 0)
        return 0;
    return nqueens_columns(board, columns);
}

void uts_visit(const uts_params *p, const uts_state &node, std::uint32_t height,
               uts_counts &acc);

void uts_range(const uts_params *p, const uts_state &parent, std::uint32_t child_height,
               int lo, int hi, uts_counts &acc)
{
    if (hi - lo == 1) {
        uts_state child;
        uts_child_state(&parent, static_cast<std::uint32_t>(lo), &child);
        uts_visit(p, child, child_height, acc);
        return;
    }

    int mid = lo + (hi - lo) / 2;
    uts_counts right{0, 0, 0};
    tbb::task_group group;
    group.run([&] { uts_range(p, parent, child_height, mid, hi, right); });
    uts_range(p, parent, child_height, lo, mid, acc);
    group.wait();
    uts_counts_merge(&acc, &right);
}

void uts_visit(const uts_params *p, const uts_state &node, std::uint32_t height,
               uts_counts &acc)
{
    int children = uts_count_node(p, &node, height, &acc);
    if (children == 0)
        return;
    uts_range(p, node, height + 1, 0, children, acc);
}

// One arena per thread count, kept for the life of the process so that
// repeated runs reuse the same worker threads.
std::mutex arenas_lock;
std::map<unsigned, std::unique_ptr<tbb::task_arena>> arenas;
std::unique_ptr<tbb::global_control> parallelism_limit;
unsigned parallelism_limit_threads;

tbb::task_arena &arena_for(unsigned threads)
{
    std::lock_guard<std::mutex> guard(arenas_lock);

    // oneTBB caps its thread pool at the hardware concurrency unless a
    // global_control raises max_allowed_parallelism.
    if (threads > parallelism_limit_threads &&
        threads > static_cast<unsigned>(tbb::this_task_arena::max_concurrency())) {
        parallelism_limit.reset();
        parallelism_limit = std::make_unique<tbb::global_control>(
            tbb::global_control::max_allowed_parallelism, threads);
        parallelism_limit_threads = threads;
    }

    std::unique_ptr<tbb::task_arena> &slot = arenas[threads];
    if (!slot)
        slot = std::make_unique<tbb::task_arena>(static_cast<int>(threads));
    return *slot;
}

template <class Body> int run_in_arena(unsigned threads, Body body)
{
    if (threads == 0)
        return EINVAL;
    try {
        arena_for(threads).execute(body);
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
    return 0;
}

} // namespace

extern "C" const char *ref_tbb_version(void)
{
    static char text[64];
    std::snprintf(text, sizeof text, "oneTBB %d.%d", TBB_VERSION_MAJOR, TBB_VERSION_MINOR);
    return text;
}

extern "C" int ref_tbb_fib(unsigned threads, unsigned n, std::uint64_t *out)
{
    std::uint64_t result = 0;
    int rc = run_in_arena(threads, [&] { result = fib(n); });
    if (rc == 0)
        *out = result;
    return rc;
}

extern "C" int ref_tbb_nqueens(unsigned threads, unsigned n, std::uint64_t *out)
{
    if (n == 0 || n > NQUEENS_MAX_N)
        return EINVAL;

    std::uint64_t result = 0;
    int rc = run_in_arena(threads, [&] { result = nqueens_solve(nqueens_empty(n)); });
    if (rc == 0)
        *out = result;
    return rc;
}

extern "C" int ref_tbb_uts(unsigned threads, const uts_params *p, uts_counts *out)
{
    uts_counts result{0, 0, 0};
    int rc = run_in_arena(threads, [&] {
        uts_state root;
        uts_root_state(p, &root);
        uts_visit(p, root, 0, result);
    });
    if (rc == 0)
        *out = result;
    return rc;
}

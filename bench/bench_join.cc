// Micro-benchmarks of the stealpool runtime (Google Benchmark):
// - BM_JoinOverhead: fib(n) with an sp_join at every call; the time_per_call
//   counter is the time per call of the recursion (2*fib(n+1)-1 calls), in
//   seconds with an SI prefix.
// - BM_SubmitThroughput: a thread outside the pool submits a batch of empty
//   tasks with sp_submit and waits until they have run.
// - BM_Steal: one worker pushes a batch of tasks onto its own queue and
//   spins while the other workers steal and run all of them.
// The argument after the problem size is the number of workers.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "bench_join_kernels.h"
#include "fib.h"

namespace {

// Owns a pool for the length of one benchmark run.
class Pool {
  public:
    explicit Pool(unsigned workers)
    {
        int rc = bj_pool_create(workers, &pool_);
        if (rc != 0) {
            std::fprintf(stderr, "bench_join: creating a pool of %u workers failed: error %d\n",
                         workers, rc);
            std::exit(1);
        }
    }
    ~Pool() { bj_pool_destroy(pool_); }
    Pool(const Pool &) = delete;
    Pool &operator=(const Pool &) = delete;

    sp_pool *get() const { return pool_; }

  private:
    sp_pool *pool_ = nullptr;
};

void BM_JoinOverhead(benchmark::State &state)
{
    unsigned n = static_cast<unsigned>(state.range(0));
    Pool pool(static_cast<unsigned>(state.range(1)));
    std::uint64_t expected = fib_seq(n);

    for (auto _ : state) {
        std::uint64_t result = 0;
        if (fib_sp(pool.get(), n, &result) != 0 || result != expected) {
            state.SkipWithError("fib_sp returned an error or a wrong answer");
            break;
        }
        benchmark::DoNotOptimize(result);
    }

    // Rate and invert give seconds per call: "1.2n" reads 1.2 ns per join.
    double calls = static_cast<double>(fib_call_count(n));
    state.counters["time_per_call"] =
        benchmark::Counter(calls * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_JoinOverhead)
    ->ArgNames({"n", "workers"})
    ->Args({25, 1})
    ->Args({25, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_SubmitThroughput(benchmark::State &state)
{
    std::size_t tasks = static_cast<std::size_t>(state.range(0));
    Pool pool(static_cast<unsigned>(state.range(1)));

    for (auto _ : state) {
        if (bj_submit_and_wait(pool.get(), tasks) != 0) {
            state.SkipWithError("sp_submit failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(tasks));
}
BENCHMARK(BM_SubmitThroughput)
    ->ArgNames({"tasks", "workers"})
    ->Args({10000, 1})
    ->Args({10000, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_Steal(benchmark::State &state)
{
    std::size_t tasks = static_cast<std::size_t>(state.range(0));
    Pool pool(static_cast<unsigned>(state.range(1)));
    std::uint64_t stolen_total = 0;

    for (auto _ : state) {
        std::uint64_t stolen = 0;
        if (bj_produce_and_steal(pool.get(), tasks, &stolen) != 0) {
            state.SkipWithError("producing or stealing failed");
            break;
        }
        stolen_total += stolen;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(stolen_total));
    state.counters["stolen_fraction"] =
        state.iterations() == 0
            ? 0.0
            : static_cast<double>(stolen_total) /
                  (static_cast<double>(tasks) * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_Steal)
    ->ArgNames({"tasks", "workers"})
    ->Args({10000, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();

// Micro-benchmarks of the weighted semaphore (Google Benchmark), each run on
// stealpool's sp_sem, on a mutex+condvar weighted semaphore (ref_wsem, see
// ref/pthread_wsem.h) and, for weight 1, on POSIX sem_t:
// - Uncontended: one thread, acquire(1) then release(1).
// - Handoff: two threads loop acquire(1), release(1) on capacity 1.
// - RandomWeights: two threads loop acquire(w), release(w) with w uniform in
//   1..8 on capacity 10.
// items_per_second counts acquire+release pairs of all threads together.
// sp_sem is strictly FIFO, so a releasing thread hands the unit to a queued
// thread. ref_wsem and sem_t let the releasing thread take it back at once.
#include <benchmark/benchmark.h>

#include <semaphore.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <stealpool.h>

#include "pthread_wsem.h"

namespace {

constexpr std::int64_t kWeightCapacity = 10;
constexpr std::int64_t kMaxWeight = 8;

// The semaphores under test; thread 0 creates them before the timed loop
// (every thread waits at its start) and destroys them after it.
sp_sem  *g_sp_sem;
ref_wsem g_ref_sem;
sem_t    g_posix_sem;

void check_rc(int rc, const char *what)
{
    if (rc != 0) {
        std::fprintf(stderr, "bench_sem: %s failed: error %d\n", what, rc);
        std::exit(1);
    }
}

// xorshift64: a cheap per-thread generator for the weights.
std::int64_t next_weight(std::uint64_t *state)
{
    std::uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return 1 + static_cast<std::int64_t>(x % kMaxWeight);
}

// Acquire+release pairs on sp_sem with weights from weight(); capacity is
// the semaphore's size.
template <typename Weight>
void run_sp(benchmark::State &state, std::int64_t capacity, Weight weight)
{
    if (state.thread_index() == 0)
        check_rc(sp_sem_create(&g_sp_sem, capacity), "sp_sem_create");

    for (auto _ : state) {
        std::int64_t n = weight();
        if (sp_sem_acquire(g_sp_sem, n, nullptr) != 0) {
            state.SkipWithError("sp_sem_acquire failed");
            break;
        }
        sp_sem_release(g_sp_sem, n);
    }
    state.SetItemsProcessed(state.iterations());

    if (state.thread_index() == 0)
        sp_sem_destroy(g_sp_sem);
}

template <typename Weight>
void run_ref(benchmark::State &state, std::int64_t capacity, Weight weight)
{
    if (state.thread_index() == 0)
        check_rc(ref_wsem_init(&g_ref_sem, capacity), "ref_wsem_init");

    for (auto _ : state) {
        std::int64_t n = weight();
        ref_wsem_acquire(&g_ref_sem, n);
        ref_wsem_release(&g_ref_sem, n);
    }
    state.SetItemsProcessed(state.iterations());

    if (state.thread_index() == 0)
        ref_wsem_destroy(&g_ref_sem);
}

void run_posix(benchmark::State &state)
{
    if (state.thread_index() == 0)
        check_rc(sem_init(&g_posix_sem, 0, 1), "sem_init");

    for (auto _ : state) {
        while (sem_wait(&g_posix_sem) != 0) {
            // EINTR: wait again.
        }
        sem_post(&g_posix_sem);
    }
    state.SetItemsProcessed(state.iterations());

    if (state.thread_index() == 0)
        sem_destroy(&g_posix_sem);
}

std::int64_t weight_one()
{
    return 1;
}

void BM_Uncontended_sp_sem(benchmark::State &state)
{
    run_sp(state, 1, weight_one);
}

void BM_Uncontended_ref_wsem(benchmark::State &state)
{
    run_ref(state, 1, weight_one);
}

void BM_Uncontended_posix_sem(benchmark::State &state)
{
    run_posix(state);
}

void BM_Handoff_sp_sem(benchmark::State &state)
{
    run_sp(state, 1, weight_one);
}

void BM_Handoff_ref_wsem(benchmark::State &state)
{
    run_ref(state, 1, weight_one);
}

void BM_Handoff_posix_sem(benchmark::State &state)
{
    run_posix(state);
}

void BM_RandomWeights_sp_sem(benchmark::State &state)
{
    std::uint64_t rng = 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(state.thread_index());
    run_sp(state, kWeightCapacity, [&rng] { return next_weight(&rng); });
}

void BM_RandomWeights_ref_wsem(benchmark::State &state)
{
    std::uint64_t rng = 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(state.thread_index());
    run_ref(state, kWeightCapacity, [&rng] { return next_weight(&rng); });
}

// Systems alternate within each workload, so that slow drift on a shared
// machine affects them alike.
BENCHMARK(BM_Uncontended_sp_sem);
BENCHMARK(BM_Uncontended_posix_sem);
BENCHMARK(BM_Uncontended_ref_wsem);
BENCHMARK(BM_Handoff_sp_sem)->Threads(2)->UseRealTime();
BENCHMARK(BM_Handoff_posix_sem)->Threads(2)->UseRealTime();
BENCHMARK(BM_Handoff_ref_wsem)->Threads(2)->UseRealTime();
BENCHMARK(BM_RandomWeights_sp_sem)->Threads(2)->UseRealTime();
BENCHMARK(BM_RandomWeights_ref_wsem)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

// Channel throughput (Google Benchmark): P producers send 8-byte values to
// P consumers through one channel of capacity 64, on sp_chan and on a
// mutex+condvar bounded queue (ref/mutex_queue.h).
// - Threads(2): 1 producer -> 1 consumer; Threads(4): 2 -> 2.
// Even thread indexes produce, odd ones consume; every thread runs the same
// number of iterations, so sends and receives balance. items_per_second
// counts elements moved (one per producer iteration); ns per element is
// 1e9 / items_per_second. Real time, because blocked threads use no CPU.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <stealpool.h>

#include "mutex_queue.h"

namespace {

constexpr std::size_t kCapacity = 64;

// Created by thread 0 before the timed loop, destroyed by it after.
sp_chan    *g_chan;
mutex_queue g_queue;

void check_rc(int rc, const char *what)
{
    if (rc != 0) {
        std::fprintf(stderr, "bench_chan: %s failed: error %d\n", what, rc);
        std::exit(1);
    }
}

void BM_SpChan(benchmark::State &state)
{
    if (state.thread_index() == 0)
        check_rc(sp_chan_create(&g_chan, sizeof(std::uint64_t), kCapacity), "sp_chan_create");

    bool producer = state.thread_index() % 2 == 0;
    std::uint64_t value = 0;
    std::uint64_t checksum = 0;
    for (auto _ : state) {
        if (producer) {
            check_rc(sp_chan_send(g_chan, &value, nullptr), "sp_chan_send");
            value++;
        } else {
            check_rc(sp_chan_recv(g_chan, &value, nullptr), "sp_chan_recv");
            checksum += value;
        }
    }
    benchmark::DoNotOptimize(checksum);
    if (producer)
        state.SetItemsProcessed(state.iterations());

    if (state.thread_index() == 0)
        sp_chan_destroy(g_chan);
}

void BM_MutexQueue(benchmark::State &state)
{
    if (state.thread_index() == 0 && mutex_queue_init(&g_queue, kCapacity) != 0)
        check_rc(1, "mutex_queue_init");

    bool producer = state.thread_index() % 2 == 0;
    std::uint64_t value = 0;
    std::uint64_t checksum = 0;
    for (auto _ : state) {
        if (producer)
            mutex_queue_push(&g_queue, value++);
        else
            checksum += mutex_queue_pop(&g_queue);
    }
    benchmark::DoNotOptimize(checksum);
    if (producer)
        state.SetItemsProcessed(state.iterations());

    if (state.thread_index() == 0)
        mutex_queue_destroy(&g_queue);
}

} // namespace

BENCHMARK(BM_SpChan)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_MutexQueue)->Threads(2)->Threads(4)->UseRealTime();

BENCHMARK_MAIN();

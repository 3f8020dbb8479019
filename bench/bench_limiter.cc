// Rate limiter call cost (Google Benchmark), one thread, on sp_limiter and
// on a mutex-protected token bucket (ref/mutex_bucket.h):
// - Allow/Inf: allow(1) at an infinite rate (clock read included).
// - Allow/Finite: allow(1) at 1e8 tokens/s with burst 1e6, so that most
//   calls are admitted and move the state (clock read included).
// - AllowAt/Finite: allow_at(1, t) with t advancing 10 ns per call, so that
//   every call is admitted; no clock read.
// - Clock: sp_now_ns alone, for scale.
// The admitted fraction is reported as the "admitted" counter.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <stealpool.h>

#include "mutex_bucket.h"

namespace {

constexpr double kFiniteRate = 1e8;
constexpr std::int64_t kBurst = 1000000;

sp_limiter *make_limiter(double rate)
{
    sp_limiter *l = nullptr;
    int rc = sp_limiter_create(&l, rate, kBurst);
    if (rc != 0) {
        std::fprintf(stderr, "bench_limiter: sp_limiter_create failed: error %d\n", rc);
        std::exit(1);
    }
    return l;
}

void report_admitted(benchmark::State &state, std::int64_t admitted)
{
    state.counters["admitted"] =
        static_cast<double>(admitted) / static_cast<double>(state.iterations());
}

void BM_SpAllow(benchmark::State &state, double rate)
{
    sp_limiter *l = make_limiter(rate);
    std::int64_t admitted = 0;
    for (auto _ : state)
        admitted += sp_limiter_allow(l, 1);
    report_admitted(state, admitted);
    sp_limiter_destroy(l);
}

void BM_SpAllowAt(benchmark::State &state)
{
    sp_limiter *l = make_limiter(kFiniteRate);
    std::int64_t admitted = 0;
    std::int64_t now = sp_now_ns();
    for (auto _ : state) {
        admitted += sp_limiter_allow_at(l, 1, now);
        now += 10;
    }
    report_admitted(state, admitted);
    sp_limiter_destroy(l);
}

void BM_MutexAllow(benchmark::State &state, double rate)
{
    mutex_bucket b;
    mutex_bucket_init(&b, rate, static_cast<double>(kBurst));
    std::int64_t admitted = 0;
    for (auto _ : state)
        admitted += mutex_bucket_allow_at(&b, 1, sp_now_ns());
    report_admitted(state, admitted);
    mutex_bucket_destroy(&b);
}

void BM_MutexAllowAt(benchmark::State &state)
{
    mutex_bucket b;
    mutex_bucket_init(&b, kFiniteRate, static_cast<double>(kBurst));
    std::int64_t admitted = 0;
    std::int64_t now = sp_now_ns();
    for (auto _ : state) {
        admitted += mutex_bucket_allow_at(&b, 1, now);
        now += 10;
    }
    report_admitted(state, admitted);
    mutex_bucket_destroy(&b);
}

void BM_Clock(benchmark::State &state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(sp_now_ns());
}

} // namespace

BENCHMARK_CAPTURE(BM_SpAllow, Inf, INFINITY);
BENCHMARK_CAPTURE(BM_SpAllow, Finite, kFiniteRate);
BENCHMARK(BM_SpAllowAt);
BENCHMARK_CAPTURE(BM_MutexAllow, Inf, INFINITY);
BENCHMARK_CAPTURE(BM_MutexAllow, Finite, kFiniteRate);
BENCHMARK(BM_MutexAllowAt);
BENCHMARK(BM_Clock);

BENCHMARK_MAIN();

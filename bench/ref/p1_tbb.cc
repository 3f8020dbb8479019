// P1 on oneTBB: one parallel_for over the items with the default
// auto_partitioner, inside a task_arena of the requested size.
#include "ref_p1.h"

#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <new>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "p1.h"

namespace {

// Arenas kept for the life of the process, one per thread count, so that
// each timed run reuses warm worker threads.
std::mutex p1_arenas_lock;
std::map<unsigned, std::unique_ptr<tbb::task_arena>> p1_arenas;

tbb::task_arena &p1_arena(unsigned threads)
{
    std::lock_guard<std::mutex> guard(p1_arenas_lock);
    std::unique_ptr<tbb::task_arena> &arena = p1_arenas[threads];
    if (!arena)
        arena = std::make_unique<tbb::task_arena>(static_cast<int>(threads));
    return *arena;
}

} // namespace

extern "C" int ref_tbb_p1(unsigned threads, std::uint32_t count, std::uint64_t *checksum)
{
    if (threads == 0)
        return EINVAL;

    std::atomic<std::uint64_t> sum{0};
    try {
        p1_arena(threads).execute([&] {
            tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, count),
                              [&](const tbb::blocked_range<std::uint32_t> &range) {
                                  std::uint64_t local = 0;
                                  for (std::uint32_t i = range.begin(); i != range.end(); i++)
                                      local += p1_item(i % P1_BATCH_ITEMS);
                                  sum.fetch_add(local, std::memory_order_relaxed);
                              });
        });
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }

    // relaxed: parallel_for returns only after every body has finished
    *checksum = sum.load(std::memory_order_relaxed);
    return 0;
}

/* Chase-Lev deque: single-threaded order checks and an owner-versus-thieves
 * stress run where every pushed item must be taken exactly once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sched/deque.h"

#include "check.h"

enum { SMALL_ITEMS = 100 };

static sp_task small_items[SMALL_ITEMS];

static void deque_pop_is_lifo(void)
{
    sp_deque dq;
    CHECK_EQ(sp__deque_init(&dq, 16), 0);

    for (int i = 0; i < 10; i++)
        CHECK_EQ(sp__deque_push(&dq, &small_items[i]), i);
    for (int i = 9; i >= 0; i--)
        CHECK(sp__deque_pop(&dq) == &small_items[i]);
    CHECK(sp__deque_pop(&dq) == NULL);

    sp__deque_destroy(&dq);
}

static void deque_steal_is_fifo(void)
{
    sp_deque dq;
    CHECK_EQ(sp__deque_init(&dq, 16), 0);

    for (int i = 0; i < 10; i++)
        sp__deque_push(&dq, &small_items[i]);
    for (int i = 0; i < 10; i++)
        CHECK(sp__deque_steal(&dq) == &small_items[i]);
    CHECK(sp__deque_steal(&dq) == NULL);

    sp__deque_destroy(&dq);
}

static void deque_empty_returns_null(void)
{
    sp_deque dq;
    CHECK_EQ(sp__deque_init(&dq, 16), 0);

    CHECK(sp__deque_pop(&dq) == NULL);
    CHECK(sp__deque_steal(&dq) == NULL);
    CHECK(!sp__deque_nonempty(&dq));

    sp__deque_push(&dq, &small_items[0]);
    CHECK(sp__deque_nonempty(&dq));
    CHECK(sp__deque_pop(&dq) == &small_items[0]);
    CHECK(sp__deque_pop(&dq) == NULL);
    CHECK(sp__deque_steal(&dq) == NULL);
    CHECK(!sp__deque_nonempty(&dq));

    sp__deque_destroy(&dq);
}

static void deque_pop_and_steal_meet(void)
{
    sp_deque dq;
    CHECK_EQ(sp__deque_init(&dq, 16), 0);

    for (int i = 0; i < 4; i++)
        sp__deque_push(&dq, &small_items[i]);
    CHECK(sp__deque_steal(&dq) == &small_items[0]);
    CHECK(sp__deque_pop(&dq) == &small_items[3]);
    CHECK(sp__deque_steal(&dq) == &small_items[1]);
    CHECK(sp__deque_pop(&dq) == &small_items[2]);
    CHECK(sp__deque_pop(&dq) == NULL);
    CHECK(sp__deque_steal(&dq) == NULL);

    sp__deque_destroy(&dq);
}

static void deque_growth_keeps_order(void)
{
    sp_deque dq;
    CHECK_EQ(sp__deque_init(&dq, 16), 0);

    /* Steal a few first so that the live range wraps the 16-slot buffer
     * when it grows. */
    for (int i = 0; i < 10; i++)
        sp__deque_push(&dq, &small_items[i]);
    for (int i = 0; i < 5; i++)
        CHECK(sp__deque_steal(&dq) == &small_items[i]);
    for (int i = 10; i < SMALL_ITEMS; i++)
        CHECK_EQ(sp__deque_push(&dq, &small_items[i]), i - 5);

    for (int i = 5; i < 50; i++)
        CHECK(sp__deque_steal(&dq) == &small_items[i]);
    for (int i = SMALL_ITEMS - 1; i >= 50; i--)
        CHECK(sp__deque_pop(&dq) == &small_items[i]);
    CHECK(sp__deque_pop(&dq) == NULL);
    CHECK(sp__deque_steal(&dq) == NULL);

    sp__deque_destroy(&dq);
}

/* Stress run: the owner pushes items[0 .. count) once each, in random
 * bursts, and pops at random. Thieves steal until the owner is done. */
typedef struct stress_run {
    sp_deque         dq;
    sp_task         *items;
    _Atomic uint8_t *take_counts; /* times each item was returned */
    size_t           count;
    _Atomic bool     done;    /* the owner pushed everything and saw the deque empty */
    _Atomic uint64_t stolen;
    _Atomic uint64_t aborts;
    _Atomic uint64_t empty_steals;
    _Atomic uint64_t live_steals; /* raised by each steal while the run goes on */
    uint64_t         popped;  /* owner only */
    int64_t          max_size; /* owner only: largest size seen by push */
} stress_run;

static void take_item(stress_run *run, sp_task *task)
{
    size_t index = (size_t)(task - run->items);
    if (index >= run->count) {
        CHECK(index < run->count);
        return;
    }
    /* relaxed: only the final count matters, read after the joins */
    atomic_fetch_add_explicit(&run->take_counts[index], 1, memory_order_relaxed);
}

static void *thief_main(void *arg)
{
    stress_run *run = arg;
    uint64_t stolen = 0, aborts = 0, empty = 0;

    for (;;) {
        /* acquire: pairs with the release store of done, after which the
         * deque stays empty */
        bool finished = atomic_load_explicit(&run->done, memory_order_acquire);
        sp_task *task = sp__deque_steal(&run->dq);
        if (task == SP_DEQUE_ABORT) {
            aborts++;
            continue;
        }
        if (task != NULL) {
            take_item(run, task);
            stolen++;
            /* relaxed: a pacing hint for the owner only */
            atomic_fetch_add_explicit(&run->live_steals, 1, memory_order_relaxed);
            continue;
        }
        if (finished)
            break;
        empty++;
    }

    /* relaxed: read by the main thread after pthread_join */
    atomic_fetch_add_explicit(&run->stolen, stolen, memory_order_relaxed);
    atomic_fetch_add_explicit(&run->aborts, aborts, memory_order_relaxed);
    atomic_fetch_add_explicit(&run->empty_steals, empty, memory_order_relaxed);
    return NULL;
}

static void owner_pop_some(stress_run *run, uint64_t pops)
{
    for (uint64_t i = 0; i < pops; i++) {
        sp_task *task = sp__deque_pop(&run->dq);
        if (task == NULL)
            return;
        take_item(run, task);
        run->popped++;
    }
}

/* Pushes up to burst items and returns how many it pushed. */
static size_t owner_push_some(stress_run *run, size_t *next, size_t burst)
{
    size_t pushed = 0;
    while (pushed < burst && *next < run->count) {
        int64_t before = sp__deque_push(&run->dq, &run->items[(*next)++]);
        CHECK_GE(before, 0);
        if (before + 1 > run->max_size)
            run->max_size = before + 1;
        pushed++;
    }
    return pushed;
}

/* Gives the thieves a window while the deque contains items: waits until one
 * more item was stolen, or up to max_ns. A steal can cost a membarrier
 * system call, far more than a push or a pop, so without this wait the
 * owner would pop nearly everything itself. */
static void owner_wait_for_steal(stress_run *run, int64_t max_ns)
{
    /* relaxed: a pacing hint only */
    uint64_t seen = atomic_load_explicit(&run->live_steals, memory_order_relaxed);
    int64_t end = test_now_ns() + max_ns;
    while (atomic_load_explicit(&run->live_steals, memory_order_relaxed) == seen &&
           test_now_ns() < end) {
    }
}

static void owner_run(stress_run *run, uint64_t seed)
{
    uint64_t rng = seed;
    size_t next = 0;

    for (uint64_t round = 0; next < run->count; round++) {
        uint64_t r = test_rand(&rng);
        if (round % 64 == 63) {
            /* A long burst grows the deque, then the owner drains it. */
            owner_push_some(run, &next, 17 + (size_t)(r >> 8) % 4096);
            owner_pop_some(run, UINT64_MAX);
            continue;
        }

        /* A short burst, then pop at least as many as were pushed, so that
         * the deque runs empty and the owner races the thieves for the
         * last item. */
        size_t pushed = owner_push_some(run, &next, 1 + (size_t)(r >> 8) % 8);
        owner_wait_for_steal(run, (int64_t)(test_rand(&rng) % 20000));
        owner_pop_some(run, pushed + test_rand(&rng) % 4);
    }

    owner_pop_some(run, UINT64_MAX);
    /* release: pairs with the acquire load in thief_main */
    atomic_store_explicit(&run->done, true, memory_order_release);
}

static void stress_with_thieves(int thieves, size_t count, uint64_t seed)
{
    stress_run run = {.count = count};
    run.items = calloc(count, sizeof *run.items);
    run.take_counts = calloc(count, sizeof *run.take_counts);
    CHECK(run.items != NULL);
    CHECK(run.take_counts != NULL);
    if (run.items == NULL || run.take_counts == NULL)
        return;
    CHECK_EQ(sp__deque_init(&run.dq, 16), 0);
    atomic_init(&run.done, false);
    atomic_init(&run.stolen, 0);
    atomic_init(&run.aborts, 0);
    atomic_init(&run.empty_steals, 0);
    atomic_init(&run.live_steals, 0);

    pthread_t threads[3];
    for (int i = 0; i < thieves; i++)
        CHECK_EQ(pthread_create(&threads[i], NULL, thief_main, &run), 0);
    owner_run(&run, seed);
    for (int i = 0; i < thieves; i++)
        pthread_join(threads[i], NULL);

    size_t never = 0, twice = 0;
    for (size_t i = 0; i < count; i++) {
        uint8_t times = atomic_load_explicit(&run.take_counts[i], memory_order_relaxed);
        never += times == 0;
        twice += times > 1;
    }
    uint64_t stolen = atomic_load_explicit(&run.stolen, memory_order_relaxed);
    fprintf(stderr, "  %d thieves: %zu items, %" PRIu64 " popped, %" PRIu64 " stolen, %" PRIu64
                    " lost races, %" PRIu64 " empty steals, max size %" PRId64 "\n",
            thieves, count, run.popped, stolen,
            atomic_load_explicit(&run.aborts, memory_order_relaxed),
            atomic_load_explicit(&run.empty_steals, memory_order_relaxed), run.max_size);

    CHECK_EQ(never, 0);
    CHECK_EQ(twice, 0);
    CHECK_EQ(run.popped + stolen, count);
    CHECK_GT(run.max_size, 16);
    CHECK(sp__deque_pop(&run.dq) == NULL);
    CHECK(sp__deque_steal(&run.dq) == NULL);

    sp__deque_destroy(&run.dq);
    free(run.items);
    free(run.take_counts);
}

static size_t stress_items(void)
{
    return (size_t)600000 / (size_t)sp_test_scale();
}

/* Runs the stress once per barrier mode: thieves either issue membarrier
 * while the owner keeps a compiler barrier, or both sides use seq_cst
 * fences. The mode is process-wide, so it changes only while no deque is
 * in use. */
static void stress_both_modes(int thieves, uint64_t seed)
{
    const bool membarrier_available = sp__heavy_barrier_available;

    if (membarrier_available) {
        fprintf(stderr, "  membarrier on the steal side:\n");
        stress_with_thieves(thieves, stress_items(), seed);
    } else {
        fprintf(stderr, "  membarrier unavailable in this build or kernel\n");
    }

    fprintf(stderr, "  seq_cst fences on both sides:\n");
    sp__heavy_barrier_available = false;
    stress_with_thieves(thieves, stress_items(), seed ^ 0xfe7ce5ULL);
    sp__heavy_barrier_available = membarrier_available;
}

static void deque_stress_one_thief(void)
{
    stress_both_modes(1, 0x1234567ULL);
}

static void deque_stress_two_thieves(void)
{
    stress_both_modes(2, 0x89abcdefULL);
}

static void deque_stress_three_thieves(void)
{
    stress_both_modes(3, 0x5eed5eedULL);
}

int main(void)
{
    RUN_TEST(deque_pop_is_lifo);
    RUN_TEST(deque_steal_is_fifo);
    RUN_TEST(deque_empty_returns_null);
    RUN_TEST(deque_pop_and_steal_meet);
    RUN_TEST(deque_growth_keeps_order);
    RUN_TEST(deque_stress_one_thief);
    RUN_TEST(deque_stress_two_thieves);
    RUN_TEST(deque_stress_three_thieves);
    return check_exit_code();
}

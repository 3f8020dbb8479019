/*
 * Signal storms during blocking workloads.
 *
 * SIGALRM arrives every 100 us from setitimer(ITIMER_REAL), and a storm
 * thread sends SIGUSR1 with tgkill to every thread of the process (pool
 * workers and spares included) about every 100 us. Both handlers are
 * installed without SA_RESTART, so every futex wait, nanosleep and other
 * interruptible call in the library fails with EINTR when a signal lands. Meanwhile joins, semaphore
 * acquires and submits, channel sends and receives, group tasks, limiter
 * waits and context deadlines run. Checks: no call returns EINTR, every
 * answer stays right, and each workload finishes within a generous bound
 * (a lost wake-up would make it hang; a watchdog then fails the test
 * instead of letting it run into the ctest timeout).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <stealpool.h>

#include "check.h"
#include "fib.h"

/* ---- The storm ------------------------------------------------------------ */

static _Atomic long signals_handled;
static _Atomic bool storm_stop;

static void on_signal(int signo)
{
    (void)signo;
    /* relaxed: a lock-free counter, safe in a handler; read after the storm */
    atomic_fetch_add_explicit(&signals_handled, 1, memory_order_relaxed);
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupted calls fail with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* Sends SIGUSR1 to every other thread of the process, every ~100 us. */
static void *storm_main(void *arg)
{
    (void)arg;
    pid_t pid = getpid();
    pid_t self = (pid_t)syscall(SYS_gettid);

    /* relaxed: a stop flag; the thread is joined afterwards */
    while (!atomic_load_explicit(&storm_stop, memory_order_relaxed)) {
        DIR *dir = opendir("/proc/self/task");
        if (dir != NULL) {
            struct dirent *entry;
            while ((entry = readdir(dir)) != NULL) {
                pid_t tid = (pid_t)atoi(entry->d_name);
                if (tid > 0 && tid != self)
                    syscall(SYS_tgkill, pid, tid, SIGUSR1);
            }
            closedir(dir);
        }
        struct timespec pause = {0, 100000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static pthread_t storm_thread;

static void storm_start(void)
{
    atomic_store_explicit(&storm_stop, false, memory_order_relaxed);
    CHECK_EQ(pthread_create(&storm_thread, NULL, storm_main, NULL), 0);

    struct itimerval every = {{0, 100}, {0, 100}};
    CHECK_EQ(setitimer(ITIMER_REAL, &every, NULL), 0);
}

static void storm_stop_and_join(void)
{
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);

    atomic_store_explicit(&storm_stop, true, memory_order_relaxed);
    pthread_join(storm_thread, NULL);
}

/* ---- Watchdog ------------------------------------------------------------- */

typedef struct bounded_run {
    void (*body)(void);
    _Atomic bool done;
} bounded_run;

static void *bounded_main(void *arg)
{
    bounded_run *run = arg;
    run->body();
    /* release: pairs with the acquire load in run_bounded */
    atomic_store_explicit(&run->done, true, memory_order_release);
    return NULL;
}

/* Runs body on a thread and waits for it at most limit_s seconds times the
 * test scale. A body that does not finish has lost a wake-up: the test
 * reports it and exits, because the stuck threads cannot be recovered. */
static void run_bounded(const char *name, void (*body)(void), int limit_s)
{
    static bounded_run run;
    run.body = body;
    atomic_store_explicit(&run.done, false, memory_order_relaxed);

    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, bounded_main, &run), 0);

    int64_t deadline = test_now_ns() + (int64_t)limit_s * 1000000000 * sp_test_scale();
    /* acquire: pairs with the release store in bounded_main */
    while (!atomic_load_explicit(&run.done, memory_order_acquire)) {
        if (test_now_ns() > deadline) {
            fprintf(stderr, "%s: not finished after %d s under the signal storm; a wake-up "
                    "was lost or a call is stuck\n", name, limit_s * sp_test_scale());
            storm_stop_and_join();
            _exit(1);
        }
        test_sleep_ns(1000000);
    }
    pthread_join(thread, NULL);
}

/* ---- Workloads ------------------------------------------------------------ */

static sp_pool *pool;
static int rounds; /* iterations per workload, divided by the test scale */

static void join_workload(void)
{
    for (int i = 0; i < rounds; i++) {
        fib_frame call = {22, 0};
        CHECK_EQ(sp_pool_run(pool, fib_sp_task, &call), 0);
        CHECK_EQ(call.result, 17711);

        /* From a thread that is not a worker, through the default pool. */
        fib_frame outside = {18, 0};
        fib_sp_task(&outside);
        CHECK_EQ(outside.result, 2584);
    }
}

/* Semaphore: threads and pool tasks acquire 1..3 of 3 units; the units in
 * use never exceed the capacity and all come back. */
enum { SEM_CAPACITY = 3, SEM_THREADS = 4 };

static sp_sem *sem;
static _Atomic int64_t units_in_use;
static _Atomic long sem_violations;
static _Atomic long sem_bad_returns;
static _Atomic long sem_tasks_done;

static void units_hold(int64_t n)
{
    /* relaxed: the counter is only compared with the capacity */
    int64_t now = atomic_fetch_add_explicit(&units_in_use, n, memory_order_relaxed) + n;
    if (now > SEM_CAPACITY)
        atomic_fetch_add_explicit(&sem_violations, 1, memory_order_relaxed);
    sched_yield();
    atomic_fetch_sub_explicit(&units_in_use, n, memory_order_relaxed);
}

static void *sem_thread(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 1;
    for (int i = 0; i < rounds * 20; i++) {
        int64_t n = (int64_t)(test_rand(&rng) % SEM_CAPACITY) + 1;
        int rc = sp_sem_acquire(sem, n, NULL);
        if (rc != 0) {
            atomic_fetch_add_explicit(&sem_bad_returns, 1, memory_order_relaxed);
            continue;
        }
        units_hold(n);
        if (sp_sem_release(sem, n) != 0)
            atomic_fetch_add_explicit(&sem_bad_returns, 1, memory_order_relaxed);
    }
    return NULL;
}

static void sem_task(void *arg)
{
    units_hold((int64_t)(uintptr_t)arg);
    /* relaxed: counted, then polled by the test thread */
    atomic_fetch_add_explicit(&sem_tasks_done, 1, memory_order_relaxed);
}

static void sem_workload(void)
{
    atomic_store_explicit(&sem_tasks_done, 0, memory_order_relaxed);
    pthread_t threads[SEM_THREADS];
    for (int t = 0; t < SEM_THREADS; t++)
        CHECK_EQ(pthread_create(&threads[t], NULL, sem_thread, (void *)(uintptr_t)(t + 1)), 0);

    long submitted = 0;
    for (int i = 0; i < rounds * 20; i++) {
        int64_t n = i % SEM_CAPACITY + 1;
        int rc = sp_sem_submit(sem, n, pool, sem_task, (void *)(uintptr_t)n);
        CHECK_EQ(rc, 0);
        if (rc == 0)
            submitted++;
    }
    for (int t = 0; t < SEM_THREADS; t++)
        pthread_join(threads[t], NULL);

    /* A held semaphore: a timed acquire returns ETIMEDOUT, not EINTR, and
     * not before its deadline. */
    CHECK_EQ(sp_sem_acquire(sem, SEM_CAPACITY, NULL), 0);
    sp_ctx *ctx = NULL;
    int64_t deadline = sp_now_ns() + 20000000;
    CHECK_EQ(sp_ctx_with_deadline(NULL, deadline, &ctx), 0);
    CHECK_EQ(sp_sem_acquire(sem, 1, ctx), ETIMEDOUT);
    CHECK_GE(sp_now_ns(), deadline);
    sp_ctx_release(ctx);
    CHECK_EQ(sp_sem_release(sem, SEM_CAPACITY), 0);

    while (atomic_load_explicit(&sem_tasks_done, memory_order_relaxed) < submitted)
        test_sleep_ns(100000);
    while (sp_sem_available(sem) != SEM_CAPACITY)
        test_sleep_ns(100000);
    CHECK_EQ(atomic_load_explicit(&sem_violations, memory_order_relaxed), 0);
    CHECK_EQ(atomic_load_explicit(&sem_bad_returns, memory_order_relaxed), 0);
}

/* Channel: producers send 1..count each, consumers add up what arrives;
 * every element arrives once, so the counts and sums match. */
enum { CHAN_PRODUCERS = 2, CHAN_CONSUMERS = 2 };

typedef struct chan_run {
    sp_chan        *ch;
    long            per_producer;
    _Atomic long    received;
    _Atomic int64_t sum;
    _Atomic long    bad_returns;
} chan_run;

static void *producer_main(void *arg)
{
    chan_run *run = arg;
    for (long v = 1; v <= run->per_producer; v++) {
        int rc = sp_chan_send(run->ch, &v, NULL);
        if (rc != 0)
            atomic_fetch_add_explicit(&run->bad_returns, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    chan_run *run = arg;
    for (;;) {
        long v;
        int rc = sp_chan_recv(run->ch, &v, NULL);
        if (rc == EPIPE)
            return NULL;
        if (rc != 0) {
            atomic_fetch_add_explicit(&run->bad_returns, 1, memory_order_relaxed);
            continue;
        }
        /* relaxed: totals read after the threads are joined */
        atomic_fetch_add_explicit(&run->received, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&run->sum, v, memory_order_relaxed);
    }
}

static void chan_round(size_t capacity)
{
    chan_run run = {.per_producer = (long)rounds * 200};
    CHECK_EQ(sp_chan_create(&run.ch, sizeof(long), capacity), 0);
    if (run.ch == NULL)
        return;

    pthread_t producers[CHAN_PRODUCERS], consumers[CHAN_CONSUMERS];
    for (int i = 0; i < CHAN_CONSUMERS; i++)
        CHECK_EQ(pthread_create(&consumers[i], NULL, consumer_main, &run), 0);
    for (int i = 0; i < CHAN_PRODUCERS; i++)
        CHECK_EQ(pthread_create(&producers[i], NULL, producer_main, &run), 0);
    for (int i = 0; i < CHAN_PRODUCERS; i++)
        pthread_join(producers[i], NULL);
    CHECK_EQ(sp_chan_close(run.ch), 0);
    for (int i = 0; i < CHAN_CONSUMERS; i++)
        pthread_join(consumers[i], NULL);

    long n = run.per_producer;
    CHECK_EQ(atomic_load_explicit(&run.bad_returns, memory_order_relaxed), 0);
    CHECK_EQ(atomic_load_explicit(&run.received, memory_order_relaxed), n * CHAN_PRODUCERS);
    CHECK_EQ(atomic_load_explicit(&run.sum, memory_order_relaxed),
             (int64_t)CHAN_PRODUCERS * n * (n + 1) / 2);

    /* An empty channel: a timed receive returns ETIMEDOUT after its deadline. */
    sp_chan *empty = NULL;
    CHECK_EQ(sp_chan_create(&empty, sizeof(long), capacity), 0);
    sp_ctx *ctx = NULL;
    int64_t deadline = sp_now_ns() + 10000000;
    CHECK_EQ(sp_ctx_with_deadline(NULL, deadline, &ctx), 0);
    long v;
    CHECK_EQ(sp_chan_recv(empty, &v, ctx), ETIMEDOUT);
    CHECK_GE(sp_now_ns(), deadline);
    sp_ctx_release(ctx);
    sp_chan_destroy(empty);
    sp_chan_destroy(run.ch);
}

static void chan_workload(void)
{
    chan_round(4);
    chan_round(0);
}

/* Group with limit 2: tasks sleep briefly and task 7 fails. The first
 * error wins, and every task whose go returned 0 ran. */
static _Atomic long group_runs;

static int group_task(sp_ctx *ctx, void *arg)
{
    (void)ctx;
    long index = (long)(intptr_t)arg;
    /* relaxed: read after sp_group_wait */
    atomic_fetch_add_explicit(&group_runs, 1, memory_order_relaxed);
    struct timespec pause = {0, 20000};
    nanosleep(&pause, NULL);
    return index == 7 ? 77 : 0;
}

static void group_workload(void)
{
    for (int round = 0; round < rounds; round++) {
        sp_group *g = NULL;
        CHECK_EQ(sp_group_create(&g, pool, NULL), 0);
        if (g == NULL)
            return;
        CHECK_EQ(sp_group_set_limit(g, 2), 0);
        atomic_store_explicit(&group_runs, 0, memory_order_relaxed);

        long started = 0;
        for (long i = 0; i < 40; i++) {
            int rc = sp_group_go(g, group_task, (void *)(intptr_t)i);
            if (rc == 0)
                started++;
            else
                CHECK_EQ(rc, ECANCELED); /* the error canceled the group */
        }
        CHECK_EQ(sp_group_wait(g), 77);
        CHECK_EQ(atomic_load_explicit(&group_runs, memory_order_relaxed), started);
        CHECK_GE(started, 8);
        sp_group_destroy(g);
    }
}

/* Limiter: waits keep the rate even when their sleeps are interrupted. */
static void limiter_workload(void)
{
    sp_limiter *l = NULL;
    CHECK_EQ(sp_limiter_create(&l, 2000, 1), 0);
    if (l == NULL)
        return;

    int waits = rounds * 10;
    int64_t start = sp_now_ns();
    for (int i = 0; i < waits; i++)
        CHECK_EQ(sp_limiter_wait(l, 1, NULL), 0);
    int64_t elapsed = sp_now_ns() - start;
    /* The first token is in the bucket; each later one takes 0.5 ms. */
    CHECK_GE(elapsed, (int64_t)(waits - 1) * 500000 - 1000000);
    sp_limiter_destroy(l);
}

static void signals_join_storm(void) { run_bounded("join", join_workload, 120); }
static void signals_sem_storm(void) { run_bounded("semaphore", sem_workload, 120); }
static void signals_chan_storm(void) { run_bounded("channel", chan_workload, 120); }
static void signals_group_storm(void) { run_bounded("group", group_workload, 120); }
static void signals_limiter_storm(void) { run_bounded("limiter", limiter_workload, 120); }

int main(void)
{
    rounds = 200 / sp_test_scale();
    if (rounds < 2)
        rounds = 2;
    install_handlers();

    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 2;
    cfg.pin = SP_PIN_NONE;
    if (sp_pool_create(&pool, &cfg) != 0 || sp_sem_create(&sem, SEM_CAPACITY) != 0) {
        fprintf(stderr, "setting up the pool or the semaphore failed\n");
        return 1;
    }
    if (sp_default_pool() == NULL) {
        fprintf(stderr, "the default pool could not be created\n");
        return 1;
    }

    storm_start();
    RUN_TEST(signals_join_storm);
    RUN_TEST(signals_sem_storm);
    RUN_TEST(signals_chan_storm);
    RUN_TEST(signals_group_storm);
    RUN_TEST(signals_limiter_storm);
    storm_stop_and_join();

    long handled = atomic_load_explicit(&signals_handled, memory_order_relaxed);
    fprintf(stderr, "%ld signals handled\n", handled);
    CHECK_GT(handled, 1000);

    sp_sem_destroy(sem);
    CHECK_EQ(sp_pool_destroy(pool), 0);
    return check_exit_code();
}

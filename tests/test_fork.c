/*
 * fork() in a process that has pools: the child may use the library
 * afresh (a new pool, a new default pool, sp_join) or exec, and the
 * parent's pools keep working.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <stealpool.h>

#include "check.h"
#include "fib.h"

/* ThreadSanitizer cannot follow threads started in the child of a
 * multithreaded process: it finds the id of a parent thread reused and
 * exits with status 66. Under TSan the children therefore check only what
 * needs no new thread; the release and ASan builds run everything. */
#if defined(__SANITIZE_THREAD__)
#define CHILD_STARTS_THREADS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHILD_STARTS_THREADS 0
#endif
#endif
#ifndef CHILD_STARTS_THREADS
#define CHILD_STARTS_THREADS 1
#endif

enum { FIB_N = 22, FIB_ANSWER = 17711 };

/* Exit codes of a child, so that the parent can tell failures apart. */
enum {
    CHILD_OK = 0,
    CHILD_CREATE_FAILED = 10,
    CHILD_RUN_FAILED = 11,
    CHILD_POOL_FIB_WRONG = 12,
    CHILD_NO_DEFAULT_POOL = 13,
    CHILD_DEFAULT_IS_PARENTS = 14,
    CHILD_JOIN_FIB_WRONG = 15,
    CHILD_STILL_A_WORKER = 16,
    CHILD_DESTROY_FAILED = 17,
    CHILD_EXEC_FAILED = 127,
};

static long fib_on(sp_pool *pool, int n, int *rc)
{
    fib_frame call = {n, -1};
    *rc = sp_pool_run(pool, fib_sp_task, &call);
    return call.result;
}

/* Waits for pid at most timeout_ns; kills it on timeout. Returns the exit
 * status, or -1 when it did not exit normally in time. */
static int wait_child(pid_t pid, int64_t timeout_ns)
{
    int64_t deadline = test_now_ns() + timeout_ns;
    for (;;) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            fprintf(stderr, "child %d ended by signal %d\n", (int)pid,
                    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            return -1;
        }
        if (got < 0) {
            perror("waitpid");
            return -1;
        }
        if (test_now_ns() > deadline) {
            fprintf(stderr, "child %d still running after the time limit; killing it\n",
                    (int)pid);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        test_sleep_ns(1000000);
    }
}

static int64_t child_timeout_ns(void)
{
    return (int64_t)30 * 1000000000 * sp_test_scale();
}

/* The child's work: a new pool, then the default pool and sp_join. */
static int child_use_library(sp_pool *parent_default)
{
    if (sp_worker_index() != -1)
        return CHILD_STILL_A_WORKER;
    if (!CHILD_STARTS_THREADS)
        return CHILD_OK;

    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 2;
    cfg.pin = SP_PIN_NONE;
    sp_pool *pool;
    if (sp_pool_create(&pool, &cfg) != 0)
        return CHILD_CREATE_FAILED;
    int rc;
    long answer = fib_on(pool, FIB_N, &rc);
    if (rc != 0)
        return CHILD_RUN_FAILED;
    if (answer != FIB_ANSWER)
        return CHILD_POOL_FIB_WRONG;
    if (sp_pool_destroy(pool) != 0)
        return CHILD_DESTROY_FAILED;

    sp_pool *fresh = sp_default_pool();
    if (fresh == NULL)
        return CHILD_NO_DEFAULT_POOL;
    if (parent_default != NULL && fresh == parent_default)
        return CHILD_DEFAULT_IS_PARENTS;

    /* From a thread that is not a worker, sp_join runs on the default pool. */
    fib_frame call = {FIB_N, -1};
    fib_sp_task(&call);
    if (call.result != FIB_ANSWER)
        return CHILD_JOIN_FIB_WRONG;
    return CHILD_OK;
}

/* Keeps a pool busy from another thread until stop is set. */
typedef struct busy_load {
    sp_pool       *pool;
    _Atomic bool   stop;
    _Atomic long   runs;
    _Atomic long   wrong;
} busy_load;

static void *busy_main(void *arg)
{
    busy_load *load = arg;
    /* relaxed: a stop flag; the thread is joined before the counters are read */
    while (!atomic_load_explicit(&load->stop, memory_order_relaxed)) {
        int rc;
        long answer = fib_on(load->pool, 18, &rc);
        if (rc != 0 || answer != 2584)
            atomic_fetch_add_explicit(&load->wrong, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&load->runs, 1, memory_order_relaxed);
    }
    return NULL;
}

static sp_pool *parent_pool(void)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = 2;
    cfg.pin = SP_PIN_NONE;
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);
    return pool;
}

static void fork_busy_parent_child_uses_library(void)
{
    sp_pool *pool = parent_pool();
    if (pool == NULL)
        return;
    sp_pool *parent_default = sp_default_pool();
    CHECK(parent_default != NULL);

    busy_load load = {.pool = pool};
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, NULL, busy_main, &load), 0);
    /* relaxed: only waits until the load runs */
    while (atomic_load_explicit(&load.runs, memory_order_relaxed) < 3)
        test_sleep_ns(100000);

    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            _exit(child_use_library(parent_default));
        CHECK_EQ(wait_child(pid, child_timeout_ns()), CHILD_OK);
    }

    atomic_store_explicit(&load.stop, true, memory_order_relaxed);
    pthread_join(thread, NULL);
    CHECK_EQ(atomic_load_explicit(&load.wrong, memory_order_relaxed), 0);

    /* The parent's pools still work after the forks. */
    int rc;
    CHECK_EQ(fib_on(pool, FIB_N, &rc), FIB_ANSWER);
    CHECK_EQ(rc, 0);
    CHECK_EQ(fib_on(parent_default, FIB_N, &rc), FIB_ANSWER);
    CHECK_EQ(rc, 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

static void fork_child_exec_true(void)
{
    sp_pool *pool = parent_pool();
    if (pool == NULL)
        return;
    int rc;
    CHECK_EQ(fib_on(pool, FIB_N, &rc), FIB_ANSWER);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(CHILD_EXEC_FAILED);
    }
    CHECK_EQ(wait_child(pid, child_timeout_ns()), CHILD_OK);

    CHECK_EQ(fib_on(pool, FIB_N, &rc), FIB_ANSWER);
    CHECK_EQ(rc, 0);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

/* fork() called inside a task: in the child the calling thread is no
 * longer a worker, so the library starts fresh there too. */
typedef struct fork_in_task {
    pid_t child;
} fork_in_task;

static void fork_task(void *arg)
{
    fork_in_task *fit = arg;
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_use_library(NULL));
    fit->child = pid;
}

static void fork_from_worker_child_starts_fresh(void)
{
    sp_pool *pool = parent_pool();
    if (pool == NULL)
        return;

    fork_in_task fit = {-1};
    CHECK_EQ(sp_pool_run(pool, fork_task, &fit), 0);
    CHECK(fit.child > 0);
    if (fit.child > 0)
        CHECK_EQ(wait_child(fit.child, child_timeout_ns()), CHILD_OK);

    int rc;
    CHECK_EQ(fib_on(pool, FIB_N, &rc), FIB_ANSWER);
    CHECK_EQ(sp_pool_destroy(pool), 0);
}

int main(void)
{
    RUN_TEST(fork_busy_parent_child_uses_library);
    RUN_TEST(fork_child_exec_true);
    RUN_TEST(fork_from_worker_child_starts_fresh);
    return check_exit_code();
}

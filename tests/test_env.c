/* SP_* environment variables, the default worker count (affinity mask and
 * cgroup v2 CPU quota) and a pool on a single CPU.
 *
 * With --expect-workers N it checks only that a pool created from the
 * defaults has N workers. For N = 1 it also checks that the pool runs a task
 * submitted from one thread and awaited by another. CMake runs it that way
 * under taskset -c 0. */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stealpool.h>

#include "platform/cpus.h"

#include "check.h"
#include "log_capture.h"
#include "test_support.h"

static const char *const env_names[] = {"SP_WORKERS", "SP_PIN", "SP_SPIN_US",
                                        "SP_DEQUE_CAPACITY", "SP_STATS"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        unsetenv(env_names[i]);
}

/* A configuration where every field differs from the defaults, so that a
 * field reset to its default shows up as a change. */
static void init_marked_config(sp_config *cfg)
{
    sp_config_init(cfg);
    cfg->workers = 7;
    cfg->pin = SP_PIN_NONE;
    cfg->cpu_list = NULL;
    cfg->spin_us = 123;
    cfg->deque_capacity = 64;
    cfg->print_stats = true;
}

static void check_config_unchanged(const sp_config *cfg)
{
    sp_config marked;
    init_marked_config(&marked);
    CHECK_EQ(cfg->workers, marked.workers);
    CHECK_EQ(cfg->pin, marked.pin);
    CHECK(cfg->cpu_list == marked.cpu_list);
    CHECK_EQ(cfg->spin_us, marked.spin_us);
    CHECK_EQ(cfg->deque_capacity, marked.deque_capacity);
    CHECK_EQ(cfg->print_stats, marked.print_stats);
}

/* Sets name=value alone and applies it to a marked configuration. */
static int apply_one(const char *name, const char *value, sp_config *cfg)
{
    clear_env();
    setenv(name, value, 1);
    init_marked_config(cfg);

    capture_start();
    int rc = sp_config_from_env(cfg);
    int lines = capture_stop();

    if (rc == 0)
        CHECK_EQ(lines, 0);
    clear_env();
    return rc;
}

/* Checks that name=value is rejected with one log line that names the
 * variable, the value and the accepted range, and changes no field. */
static void expect_invalid(const char *name, const char *value, const char *range)
{
    sp_config cfg;
    int rc = apply_one(name, value, &cfg);

    if (rc != EINVAL)
        fprintf(stderr, "  %s=\"%s\" was accepted\n", name, value);
    CHECK_EQ(rc, EINVAL);
    CHECK_EQ(captured.lines, 1);

    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", value);
    CHECK(strstr(captured.last, name) != NULL);
    CHECK(strstr(captured.last, quoted) != NULL);
    CHECK(strstr(captured.last, range) != NULL);
    if (captured.lines == 1 && strstr(captured.last, range) == NULL)
        fprintf(stderr, "  log line: %s\n", captured.last);
    check_config_unchanged(&cfg);
}

static void expect_all_invalid(const char *name, const char *const *values, size_t count,
                               const char *range)
{
    for (size_t i = 0; i < count; i++)
        expect_invalid(name, values[i], range);
}

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

static const char *const invalid_workers[] = {
    "0", "-1", "abc", "", "1e3", "99999999999", " 3", "3 ", "4097", "+3",
    "18446744073709551616"};

static void env_workers_values(void)
{
    sp_config cfg;
    CHECK_EQ(apply_one("SP_WORKERS", "3", &cfg), 0);
    CHECK_EQ(cfg.workers, 3);
    CHECK_EQ(apply_one("SP_WORKERS", "1", &cfg), 0);
    CHECK_EQ(cfg.workers, 1);
    CHECK_EQ(apply_one("SP_WORKERS", "4096", &cfg), 0);
    CHECK_EQ(cfg.workers, 4096);

    expect_all_invalid("SP_WORKERS", invalid_workers, COUNT_OF(invalid_workers), "1 to 4096");
}

/* Returns the n-th CPU of the calling thread's affinity mask, or -1. */
static int mask_cpu(unsigned n)
{
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0)
        return -1;
    if ((unsigned)CPU_COUNT(&mask) <= n)
        return -1;
    return sp__cpu_set_nth(&mask, n);
}

static void env_pin_values(void)
{
    sp_config cfg;
    CHECK_EQ(apply_one("SP_PIN", "none", &cfg), 0);
    CHECK_EQ(cfg.pin, SP_PIN_NONE);
    CHECK_EQ(apply_one("SP_PIN", "cores", &cfg), 0);
    CHECK_EQ(cfg.pin, SP_PIN_CORES);
    CHECK(cfg.cpu_list == NULL);

    char list[32];
    snprintf(list, sizeof list, "%d", mask_cpu(0));
    clear_env();
    setenv("SP_PIN", list, 1);
    init_marked_config(&cfg);
    CHECK_EQ(sp_config_from_env(&cfg), 0);
    CHECK_EQ(cfg.pin, SP_PIN_LIST);
    CHECK(cfg.cpu_list != NULL);
    if (cfg.cpu_list != NULL)
        CHECK_EQ(strcmp(cfg.cpu_list, list), 0);
    clear_env();

    static const char *const malformed[] = {"abc", "", "0-", "3-1", "0,,1", "Cores", "0 "};
    expect_all_invalid("SP_PIN", malformed, COUNT_OF(malformed), "none, cores");

    cpu_set_t mask;
    CHECK_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
    if (CPU_ISSET(1023, &mask)) {
        fprintf(stderr, "  skipped CPU 1023: it is in the affinity mask\n");
        return;
    }
    expect_invalid("SP_PIN", "1023", "outside the process affinity mask (allowed CPUs: ");
}

static void env_spin_us_values(void)
{
    sp_config cfg;
    CHECK_EQ(apply_one("SP_SPIN_US", "0", &cfg), 0);
    CHECK_EQ(cfg.spin_us, 0);
    CHECK_EQ(apply_one("SP_SPIN_US", "75", &cfg), 0);
    CHECK_EQ(cfg.spin_us, 75);
    CHECK_EQ(apply_one("SP_SPIN_US", "1000000", &cfg), 0);
    CHECK_EQ(cfg.spin_us, 1000000);

    static const char *const invalid[] = {"1000001", "-5", "abc", "", "5us", " 5", "4294967296"};
    expect_all_invalid("SP_SPIN_US", invalid, COUNT_OF(invalid), "0 to 1000000");
}

static void env_deque_capacity_values(void)
{
    sp_config cfg;
    CHECK_EQ(apply_one("SP_DEQUE_CAPACITY", "16", &cfg), 0);
    CHECK_EQ(cfg.deque_capacity, 16);
    CHECK_EQ(apply_one("SP_DEQUE_CAPACITY", "1024", &cfg), 0);
    CHECK_EQ(cfg.deque_capacity, 1024);
    CHECK_EQ(apply_one("SP_DEQUE_CAPACITY", "16777216", &cfg), 0);
    CHECK_EQ(cfg.deque_capacity, 16777216);

    static const char *const invalid[] = {"8", "24", "33554432", "0", "abc", "0x100", ""};
    expect_all_invalid("SP_DEQUE_CAPACITY", invalid, COUNT_OF(invalid), "16 to 16777216");
}

static void env_stats_values(void)
{
    sp_config cfg;
    CHECK_EQ(apply_one("SP_STATS", "0", &cfg), 0);
    CHECK_EQ(cfg.print_stats, false);
    CHECK_EQ(apply_one("SP_STATS", "1", &cfg), 0);
    CHECK_EQ(cfg.print_stats, true);

    static const char *const invalid[] = {"2", "yes", "", "true", "01"};
    expect_all_invalid("SP_STATS", invalid, COUNT_OF(invalid), "0 or 1");
}

static void env_null_config_rejected(void)
{
    capture_start();
    CHECK_EQ(sp_config_from_env(NULL), EINVAL);
    CHECK_EQ(capture_stop(), 1);
}

static unsigned default_worker_count(void)
{
    sp_cpu_info info;
    sp__cpu_info_read(&info);
    return info.usable;
}

static void env_invalid_workers_pool_uses_default(void)
{
    const unsigned expected = default_worker_count();
    CHECK_GE(expected, 1);

    for (size_t i = 0; i < COUNT_OF(invalid_workers); i++) {
        clear_env();
        setenv("SP_WORKERS", invalid_workers[i], 1);

        capture_start();
        sp_pool *pool = NULL;
        CHECK_EQ(sp_pool_create(&pool, NULL), 0);
        CHECK_EQ(capture_stop(), 1);
        CHECK(strstr(captured.last, "SP_WORKERS") != NULL);
        if (pool == NULL)
            continue;
        CHECK_EQ(sp_pool_workers(pool), expected);
        CHECK_EQ(sp_pool_destroy(pool), 0);
    }

    clear_env();
    setenv("SP_WORKERS", "3", 1);
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, NULL), 0);
    CHECK_EQ(sp_pool_workers(pool), 3);
    if (pool != NULL)
        CHECK_EQ(sp_pool_destroy(pool), 0);
    clear_env();
}

/* Creates a pool from the defaults and returns its worker count. */
static unsigned default_pool_workers(void)
{
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, NULL), 0);
    if (pool == NULL)
        return 0;
    unsigned workers = sp_pool_workers(pool);
    CHECK_EQ(sp_pool_destroy(pool), 0);
    return workers;
}

/* Restricts the calling thread to the first count CPUs of saved. */
static bool restrict_to_cpus(const cpu_set_t *saved, unsigned count)
{
    if ((unsigned)CPU_COUNT(saved) < count)
        return false;
    cpu_set_t some;
    CPU_ZERO(&some);
    for (unsigned i = 0; i < count; i++)
        CPU_SET(sp__cpu_set_nth(saved, i), &some);
    return sched_setaffinity(0, sizeof some, &some) == 0;
}

static void env_default_workers_follow_mask(void)
{
    clear_env();
    cpu_set_t saved;
    CHECK_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);

    CHECK(restrict_to_cpus(&saved, 1));
    CHECK_EQ(default_pool_workers(), 1);
    CHECK_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);

    if (!restrict_to_cpus(&saved, 2)) {
        fprintf(stderr, "  skipped the two-CPU mask: only one CPU is available\n");
        return;
    }
    sp_cpu_info info;
    sp__cpu_info_read(&info);
    unsigned expected = info.quota_cpus != 0 && info.quota_cpus < 2 ? info.quota_cpus : 2;
    CHECK_EQ(default_pool_workers(), expected);
    CHECK_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
}

/* ---- cgroup v2 quota ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

typedef struct fake_cgroup {
    char root[64];
    char a[128];
    char b[192];
} fake_cgroup;

static bool fake_cgroup_create(fake_cgroup *cg)
{
    snprintf(cg->root, sizeof cg->root, "/tmp/sp-cgroup-XXXXXX");
    if (mkdtemp(cg->root) == NULL)
        return false;
    snprintf(cg->a, sizeof cg->a, "%s/a", cg->root);
    snprintf(cg->b, sizeof cg->b, "%s/a/b", cg->root);
    return mkdir(cg->a, 0700) == 0 && mkdir(cg->b, 0700) == 0;
}

static void fake_cgroup_write(fake_cgroup *cg, const char *root, const char *a, const char *b)
{
    write_file(cg->root, "cpu.max", root);
    write_file(cg->a, "cpu.max", a);
    write_file(cg->b, "cpu.max", b);
}

static void fake_cgroup_remove(fake_cgroup *cg)
{
    remove_file(cg->b, "cpu.max");
    remove_file(cg->a, "cpu.max");
    remove_file(cg->root, "cpu.max");
    rmdir(cg->b);
    rmdir(cg->a);
    rmdir(cg->root);
}

static void env_cgroup_quota_from_ancestors(void)
{
    fake_cgroup cg;
    CHECK(fake_cgroup_create(&cg));
    char source[256];

    fake_cgroup_write(&cg, "max 100000\n", "200000 100000\n", "max 100000\n");
    source[0] = '\0';
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/a/b", source, sizeof source), 2);
    CHECK(strcmp(source, cg.a) == 0);

    fake_cgroup_write(&cg, "max 100000\n", "150000 100000\n", "max 100000\n");
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/a/b", NULL, 0), 2);

    fake_cgroup_write(&cg, "max 100000\n", "50000 100000\n", "max 100000\n");
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/a/b", NULL, 0), 1);

    /* The tightest quota wins, wherever it is on the path. */
    fake_cgroup_write(&cg, "max 100000\n", "200000 100000\n", "100000 100000\n");
    source[0] = '\0';
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/a/b", source, sizeof source), 1);
    CHECK(strcmp(source, cg.b) == 0);

    fake_cgroup_write(&cg, "300000 100000\n", "max 100000\n", "max 100000\n");
    source[0] = '\0';
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/a/b", source, sizeof source), 3);
    CHECK(strcmp(source, cg.root) == 0);

    fake_cgroup_write(&cg, "max 100000\n", "max 100000\n", "max 100000\n");
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/a/b", NULL, 0), 0);

    remove_file(cg.b, "cpu.max");
    remove_file(cg.a, "cpu.max");
    remove_file(cg.root, "cpu.max");
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/a/b", NULL, 0), 0);
    CHECK_EQ(sp__cgroup_quota_cpus(cg.root, "/missing/path", NULL, 0), 0);

    fake_cgroup_remove(&cg);
}

/* ---- one CPU: submit on one thread, wait on another ---- */

typedef struct handoff {
    sp_pool *pool;
    sem_t    done;
    int      submit_rc;
    int      wait_rc;
} handoff;

static void post_task(void *arg)
{
    handoff *h = arg;
    sem_post(&h->done);
}

static void *submitter_main(void *arg)
{
    handoff *h = arg;
    h->submit_rc = sp_submit(h->pool, post_task, h);
    return NULL;
}

static void *waiter_main(void *arg)
{
    handoff *h = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 1;

    int rc;
    do {
        rc = sem_timedwait(&h->done, &deadline) == 0 ? 0 : errno;
    } while (rc == EINTR);
    h->wait_rc = rc;
    return NULL;
}

/* Runs the handoff on the calling thread's current affinity mask. */
static void check_cross_thread_handoff(void)
{
    handoff h = {.submit_rc = -1, .wait_rc = -1};
    sem_init(&h.done, 0, 0);
    CHECK_EQ(sp_pool_create(&h.pool, NULL), 0);
    if (h.pool == NULL)
        return;
    CHECK_EQ(sp_pool_workers(h.pool), 1);

    pthread_t waiter, submitter;
    CHECK_EQ(pthread_create(&waiter, NULL, waiter_main, &h), 0);
    CHECK_EQ(pthread_create(&submitter, NULL, submitter_main, &h), 0);
    pthread_join(submitter, NULL);
    pthread_join(waiter, NULL);

    CHECK_EQ(h.submit_rc, 0);
    CHECK_EQ(h.wait_rc, 0);
    CHECK_EQ(sp_pool_destroy(h.pool), 0);
    sem_destroy(&h.done);
}

static void env_one_cpu_cross_thread_task(void)
{
    clear_env();
    cpu_set_t saved;
    CHECK_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
    CHECK(restrict_to_cpus(&saved, 1));

    check_cross_thread_handoff();

    CHECK_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
}

/* Checks the default worker count of the process as started (taskset). */
static int expect_workers_main(const char *text)
{
    char *end;
    long expected = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || expected < 1) {
        fprintf(stderr, "--expect-workers needs a positive integer, not \"%s\"\n", text);
        return 2;
    }

    clear_env();
    fprintf(stderr, "[ RUN  ] env_default_workers_of_process\n");
    CHECK_EQ(default_pool_workers(), expected);
    if (expected == 1)
        RUN_TEST(check_cross_thread_handoff);
    return check_exit_code();
}

static void stats_noop(void *arg)
{
    (void)arg;
}

/* The default pool is never destroyed: with SP_STATS=1 its table is logged
 * when the process exits. The child process sends its stderr into a pipe. */
static void env_stats_default_pool_at_exit(void)
{
    int fds[2];
    CHECK_EQ(pipe(fds), 0);

    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        setenv("SP_STATS", "1", 1);
        sp_join(stats_noop, NULL, stats_noop, NULL);
        exit(0);
    }
    close(fds[1]);

    char output[8192];
    size_t used = 0;
    ssize_t got;
    while (used < sizeof output - 1 &&
           (got = read(fds[0], output + used, sizeof output - 1 - used)) > 0)
        used += (size_t)got;
    output[used] = '\0';
    close(fds[0]);

    int status = 0;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK(strstr(output, "tasks_run") != NULL);
    CHECK(strstr(output, "total") != NULL);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--expect-workers") == 0)
        return expect_workers_main(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--expect-workers N]\n", argv[0]);
        return 2;
    }

    RUN_TEST(env_workers_values);
    RUN_TEST(env_pin_values);
    RUN_TEST(env_spin_us_values);
    RUN_TEST(env_deque_capacity_values);
    RUN_TEST(env_stats_values);
    RUN_TEST(env_stats_default_pool_at_exit);
    RUN_TEST(env_null_config_rejected);
    RUN_TEST(env_invalid_workers_pool_uses_default);
    RUN_TEST(env_default_workers_follow_mask);
    RUN_TEST(env_cgroup_quota_from_ancestors);
    RUN_TEST(env_one_cpu_cross_thread_task);
    return check_exit_code();
}

/*
 * A three-stage secret scanner built on channels and error groups:
 *
 *   walk --(files)--> match --(hits)--> verify
 *
 * The walk stage reads directory trees and sends the path of each regular
 * file. The match stage reads each file and searches it for
 * credential-shaped strings. The verify stage checks each hit against a
 * simulated verification service (a 2 to 10 ms sleep per request, no
 * network), paced by a rate limiter and bounded by a semaphore of requests
 * in flight.
 *
 * Usage: scan_pipeline [--verify-rate N] [--max-files N] [PATH...]
 *   --verify-rate N  verification requests per second, at least 0.001
 *                    (default 200, burst 20)
 *   --max-files N    stop walking after N files have been sent (0: no limit)
 *   PATH             a directory or regular file to scan (default /usr/include)
 *
 * Each stage is an error group of long-lived tasks that loop over the
 * stage's input channel; the bounded channels keep memory bounded when one
 * stage is slower than the one before it. The stage that fails first
 * cancels the pipeline context, which stops the other stages. Errors on
 * single paths (unreadable, vanished, broken links) are printed on stderr,
 * counted and skipped; they do not fail the run.
 *
 * CPUs means the worker count of a pool created from the environment
 * (SP_WORKERS, affinity mask, cgroup quota). The match stage runs on that
 * pool with one task per CPU. The walk and verify stages spend most of
 * their time in blocking system calls and sleeps, so they run on a second
 * pool with one worker per task (4 and 10 tasks per CPU): a task blocked
 * in readdir or nanosleep holds its thread, and the spare threads a pool
 * starts only cover waits inside library calls.
 *
 * Symbolic links met during the walk are never followed, as find does by
 * default, so a link loop cannot make the walk repeat itself. Directories
 * are also recorded by (st_dev, st_ino), which skips a directory reached
 * twice through a repeated argument or a bind mount. Paths given on the
 * command line are followed. Files are not recorded, so a file named on
 * the command line and also found inside a named directory is read twice.
 *
 * Exit status:
 *   0  success, also when some paths were skipped with a warning
 *   1  a stage failed, or no given path could be scanned (each one was
 *      missing, unreadable or skipped)
 *   2  invalid usage
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stealpool.h>

#define PROGRAM            "scan_pipeline"
#define DEFAULT_RATE       200.0
/* The limiter treats rates below about 8.7e-10/s as 0, so the verify stage
 * would get no token after the burst and the scan would never finish.
 * 0.001/s (one request per 1000 s) is far above that bound. */
#define MIN_RATE           0.001
#define VERIFY_BURST       20
#define VERIFY_IN_FLIGHT   16
#define WALKERS_PER_CPU    4
#define VERIFIERS_PER_CPU  10
/* Keeps the blocking pool within SP_WORKERS_MAX (4096) on very large hosts. */
#define MAX_STAGE_TASKS    1024u
#define MAX_FILE_BYTES     (8 * 1024 * 1024)
#define DIR_CHAN_CAPACITY  1024
#define FILE_CHAN_CAPACITY 256
#define HIT_CHAN_CAPACITY  256
#define VERIFY_SEED        0x5CA9F00Du

/* The patterns, in the order of the summary lines. */
enum {
    PATTERN_AWS_KEY_ID,
    PATTERN_PRIVATE_KEY,
    PATTERN_GITHUB_TOKEN,
    PATTERN_SLACK_TOKEN,
    PATTERN_PASSWORD,
    PATTERN_COUNT
};

static const char *const pattern_names[PATTERN_COUNT] = {
    "aws_access_key_id", "private_key", "github_token", "slack_token", "password_assignment",
};

/* Counters; any thread, relaxed, read after every stage has been waited for. */
typedef struct scan_stats {
    _Atomic uint64_t files;
    _Atomic uint64_t directories;
    _Atomic uint64_t bytes;
    _Atomic uint64_t hits[PATTERN_COUNT];
    _Atomic uint64_t verified;
    _Atomic uint64_t errors;
    _Atomic uint64_t symlinks;
    _Atomic uint64_t special_files;
    _Atomic uint64_t large_files;
} scan_stats;

/* Directories already walked, by device and inode number; under lock. */
typedef struct visited_set {
    pthread_mutex_t lock;
    struct dir_id {
        dev_t dev;
        ino_t ino;
        bool  used;
    } *slots;
    size_t capacity; /* power of two */
    size_t count;
} visited_set;

/* One search hit; path is owned by the element and freed by its receiver. */
typedef struct hit {
    char *path;
    long  line;
    int   pattern;
} hit;

typedef struct pipeline {
    /* Read-only after setup. */
    sp_ctx     *ctx; /* canceled by the first stage that fails */
    sp_chan    *dirs;  /* char *: directories waiting to be read */
    sp_chan    *files; /* char *: regular files waiting to be searched */
    sp_chan    *hits;  /* hit */
    sp_limiter *limiter;
    sp_sem     *in_flight;
    uint64_t    max_files; /* 0: no limit */

    /* Directories sent or stacked but not yet read, plus one unit that
     * main holds while it sends the arguments. The walker that drops it to
     * zero closes dirs, which ends the walk. */
    _Atomic long     pending_dirs;
    _Atomic uint64_t files_sent; /* counts toward max_files */
    _Atomic bool     file_limit_reached;

    visited_set visited;
    scan_stats  stats;
} pipeline;

/* A walker's own directories, used when dirs is full: the walkers both
 * receive from dirs and send to it, so a blocking send could deadlock. */
typedef struct dir_stack {
    char **paths;
    size_t count;
    size_t capacity;
} dir_stack;

static void count(_Atomic uint64_t *counter, uint64_t n)
{
    /* relaxed: statistics only, read after sp_group_wait */
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t counter_value(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Prints one line about a skipped path and counts it as an error when
 * is_error is true. */
static void report(pipeline *p, bool is_error, const char *path, const char *format, ...)
{
    char reason[256];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);

    fprintf(stderr, "%s: %s: %s\n", PROGRAM, path, reason);
    if (is_error)
        count(&p->stats.errors, 1);
}

/* Cancels the whole pipeline when a stage task fails, then passes rc on. */
static int stage_result(pipeline *p, int rc)
{
    if (rc != 0)
        sp_ctx_cancel(p->ctx);
    return rc;
}

static char *join_path(const char *dir, const char *name)
{
    size_t dir_len = strlen(dir);
    size_t name_len = strlen(name);
    bool add_slash = dir_len > 0 && dir[dir_len - 1] != '/';
    char *path = malloc(dir_len + add_slash + name_len + 1);
    if (path == NULL)
        return NULL;

    memcpy(path, dir, dir_len);
    if (add_slash)
        path[dir_len] = '/';
    memcpy(path + dir_len + add_slash, name, name_len + 1);
    return path;
}

/* ---- visited directories ---------------------------------------------- */

static size_t dir_id_hash(dev_t dev, ino_t ino)
{
    uint64_t x = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;
    x ^= x >> 31;
    return (size_t)(x * 0xBF58476D1CE4E5B9ull);
}

static void visited_place(struct dir_id *slots, size_t capacity, dev_t dev, ino_t ino)
{
    size_t i = dir_id_hash(dev, ino) & (capacity - 1);
    while (slots[i].used)
        i = (i + 1) & (capacity - 1);
    slots[i] = (struct dir_id){dev, ino, true};
}

static int visited_grow(visited_set *set)
{
    size_t capacity = set->capacity == 0 ? 1024 : set->capacity * 2;
    struct dir_id *slots = calloc(capacity, sizeof *slots);
    if (slots == NULL)
        return ENOMEM;

    for (size_t i = 0; i < set->capacity; i++) {
        if (set->slots[i].used)
            visited_place(slots, capacity, set->slots[i].dev, set->slots[i].ino);
    }
    free(set->slots);
    set->slots = slots;
    set->capacity = capacity;
    return 0;
}

/* Records a directory. Sets *first to false when it was recorded before.
 * Returns 0 or ENOMEM. */
static int visited_add(visited_set *set, const struct stat *st, bool *first)
{
    int rc = 0;
    pthread_mutex_lock(&set->lock);

    if (2 * (set->count + 1) > set->capacity)
        rc = visited_grow(set);
    if (rc == 0) {
        size_t i = dir_id_hash(st->st_dev, st->st_ino) & (set->capacity - 1);
        *first = true;
        while (set->slots[i].used) {
            if (set->slots[i].dev == st->st_dev && set->slots[i].ino == st->st_ino) {
                *first = false;
                break;
            }
            i = (i + 1) & (set->capacity - 1);
        }
        if (*first) {
            set->slots[i] = (struct dir_id){st->st_dev, st->st_ino, true};
            set->count++;
        }
    }

    pthread_mutex_unlock(&set->lock);
    return rc;
}

/* ---- stage 1: walk ---------------------------------------------------- */

/* Drops one pending directory; the last one closes dirs and ends the walk. */
static void finish_directory(pipeline *p)
{
    /* acq_rel: every walker's increments for subdirectories happen before
     * its decrement for the parent, so zero means nothing is left. */
    if (atomic_fetch_sub_explicit(&p->pending_dirs, 1, memory_order_acq_rel) == 1)
        sp_chan_close(p->dirs);
}

/* Queues a directory for reading; takes ownership of path. Returns 0 or
 * ENOMEM. */
static int queue_directory(pipeline *p, char *path, const struct stat *st, dir_stack *local)
{
    bool first;
    int rc = visited_add(&p->visited, st, &first);
    if (rc != 0) {
        free(path);
        return rc;
    }
    if (!first) {
        report(p, true, path, "directory already scanned (repeated path or mount loop), skipping");
        free(path);
        return 0;
    }

    /* relaxed: the caller holds a pending unit of its own, so the count
     * cannot reach zero before this increment is visible. */
    atomic_fetch_add_explicit(&p->pending_dirs, 1, memory_order_relaxed);
    if (sp_chan_try_send(p->dirs, &path))
        return 0;

    if (local->count == local->capacity) {
        size_t capacity = local->capacity == 0 ? 64 : local->capacity * 2;
        char **paths = realloc(local->paths, capacity * sizeof *paths);
        if (paths == NULL) {
            free(path);
            finish_directory(p);
            return ENOMEM;
        }
        local->paths = paths;
        local->capacity = capacity;
    }
    local->paths[local->count++] = path;
    return 0;
}

/* Sends a regular file to the match stage; takes ownership of path. */
static int send_file(pipeline *p, char *path, sp_ctx *ctx)
{
    if (p->max_files != 0) {
        /* relaxed: only the count matters, not the order of the sends */
        uint64_t sent = atomic_fetch_add_explicit(&p->files_sent, 1, memory_order_relaxed);
        if (sent >= p->max_files) {
            /* relaxed: the flag only makes the walkers stop early */
            atomic_store_explicit(&p->file_limit_reached, true, memory_order_relaxed);
            free(path);
            return 0;
        }
    }

    int rc = sp_chan_send(p->files, &path, ctx);
    if (rc != 0)
        free(path);
    return rc;
}

/* Reports a symbolic link, which is never followed. Broken links and link
 * loops count as errors; links to directories get a note. */
static void skip_symlink(pipeline *p, int dir_fd, const char *name, const char *path)
{
    struct stat target;
    if (fstatat(dir_fd, name, &target, 0) != 0) {
        if (errno == ELOOP)
            report(p, true, path, "symbolic link loop, skipping");
        else
            report(p, true, path, "broken symbolic link (%s), skipping", strerror(errno));
        return;
    }

    count(&p->stats.symlinks, 1);
    if (S_ISDIR(target.st_mode))
        report(p, false, path, "not following symbolic link to a directory");
}

/* Handles one directory entry; takes ownership of path. */
static int walk_entry(pipeline *p, int dir_fd, const char *name, char *path, dir_stack *local,
                      sp_ctx *ctx)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        report(p, true, path, "cannot stat: %s, skipping", strerror(errno));
        free(path);
        return 0;
    }

    if (S_ISDIR(st.st_mode))
        return queue_directory(p, path, &st, local);
    if (S_ISREG(st.st_mode))
        return send_file(p, path, ctx);

    if (S_ISLNK(st.st_mode))
        skip_symlink(p, dir_fd, name, path);
    else
        count(&p->stats.special_files, 1);
    free(path);
    return 0;
}

static bool file_limit_reached(pipeline *p)
{
    /* relaxed: see send_file */
    return atomic_load_explicit(&p->file_limit_reached, memory_order_relaxed);
}

/* Reads one directory, sending its files and queuing its subdirectories.
 * Returns 0, or a fatal error (ENOMEM, or ctx ended). */
static int walk_directory(pipeline *p, const char *dir, dir_stack *local, sp_ctx *ctx)
{
    if (file_limit_reached(p))
        return 0;

    DIR *stream = opendir(dir);
    if (stream == NULL) {
        report(p, true, dir, "cannot open directory: %s, skipping", strerror(errno));
        return 0;
    }
    count(&p->stats.directories, 1);

    int rc = 0;
    struct dirent *entry;
    errno = 0;
    while (rc == 0 && !file_limit_reached(p) && (entry = readdir(stream)) != NULL) {
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;

        char *path = join_path(dir, name);
        rc = path == NULL ? ENOMEM : walk_entry(p, dirfd(stream), name, path, local, ctx);
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        report(p, true, dir, "cannot read directory: %s, skipping the rest", strerror(errno));

    closedir(stream);
    return rc;
}

/* Reads one directory, then the ones it stacked locally; owns dir. */
static int walk_with_stack(pipeline *p, char *dir, dir_stack *local, sp_ctx *ctx)
{
    int rc = walk_directory(p, dir, local, ctx);
    free(dir);
    finish_directory(p);

    while (rc == 0 && local->count > 0) {
        dir = local->paths[--local->count];
        rc = walk_directory(p, dir, local, ctx);
        free(dir);
        finish_directory(p);
    }
    return rc;
}

static int walk_worker(sp_ctx *ctx, void *arg)
{
    pipeline *p = arg;
    dir_stack local = {0};
    char *dir;
    int rc;

    while ((rc = sp_chan_recv(p->dirs, &dir, ctx)) == 0) {
        rc = walk_with_stack(p, dir, &local, ctx);
        if (rc != 0)
            break;
    }

    /* Directories remain here only after a failure, when the count no longer
     * matters. */
    while (local.count > 0)
        free(local.paths[--local.count]);
    free(local.paths);
    return stage_result(p, rc == EPIPE ? 0 : rc); /* EPIPE: every directory read */
}

/* ---- stage 2: match --------------------------------------------------- */

static bool is_upper_or_digit(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_alnum(unsigned char c)
{
    return is_upper_or_digit(c) || (c >= 'a' && c <= 'z');
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool starts_with(const char *text, size_t len, const char *prefix)
{
    size_t prefix_len = strlen(prefix);
    return len >= prefix_len && memcmp(text, prefix, prefix_len) == 0;
}

/* True when text[0 .. n) exists and matches class, and text[n] is not
 * alphanumeric (or is the end). */
static bool run_of(const char *text, size_t len, size_t n, bool (*class)(unsigned char))
{
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!class((unsigned char)text[i]))
            return false;
    }
    return len == n || !is_alnum((unsigned char)text[n]);
}

/* "AKIA" and 16 uppercase letters or digits: an AWS access key id. */
static size_t match_aws_key_id(const char *text, size_t len)
{
    if (!starts_with(text, len, "AKIA"))
        return 0;
    return run_of(text + 4, len - 4, 16, is_upper_or_digit) ? 20 : 0;
}

/* "ghp_" and 36 letters or digits: a GitHub personal access token. */
static size_t match_github_token(const char *text, size_t len)
{
    if (!starts_with(text, len, "ghp_"))
        return 0;
    return run_of(text + 4, len - 4, 36, is_alnum) ? 40 : 0;
}

/* "xox" and one of b, a, p, r, s, a dash, then at least 10 letters, digits
 * or dashes: the shape of a Slack token. */
static size_t match_slack_token(const char *text, size_t len)
{
    if (len < 5 || !starts_with(text, len, "xox") || text[3] == '\0' ||
        strchr("baprs", text[3]) == NULL || text[4] != '-')
        return 0;

    size_t end = 5;
    while (end < len && (is_alnum((unsigned char)text[end]) || text[end] == '-'))
        end++;
    return end - 5 >= 10 ? end : 0;
}

/* "-----BEGIN ", a label of capitals and spaces ending in "PRIVATE KEY",
 * then "-----", all on one line: a PEM private key header. */
static size_t match_private_key(const char *text, size_t len)
{
    static const char begin[] = "-----BEGIN ";
    static const char label_end[] = "PRIVATE KEY";
    const size_t begin_len = sizeof begin - 1;
    const size_t label_end_len = sizeof label_end - 1;

    if (!starts_with(text, len, begin))
        return 0;

    size_t end = begin_len;
    while (end < len && end - begin_len < 64 &&
           ((text[end] >= 'A' && text[end] <= 'Z') || text[end] == ' '))
        end++;
    if (end - begin_len < label_end_len ||
        memcmp(text + end - label_end_len, label_end, label_end_len) != 0)
        return 0;
    return starts_with(text + end, len - end, "-----") ? end + 5 : 0;
}

/* "password=" followed by a character that is not white space. */
static size_t match_password(const char *text, size_t len)
{
    static const char key[] = "password=";
    const size_t key_len = sizeof key - 1;

    if (!starts_with(text, len, key) || len == key_len || is_space((unsigned char)text[key_len]))
        return 0;
    return key_len + 1;
}

/* Returns the length of the match at text[0] and sets *pattern, or 0.
 * prev is the byte before text ('\n' at the start of the file). */
static size_t match_at(const char *text, size_t len, unsigned char prev, int *pattern)
{
    size_t n = 0;
    switch (text[0]) {
    case 'A':
        *pattern = PATTERN_AWS_KEY_ID;
        n = is_alnum(prev) ? 0 : match_aws_key_id(text, len);
        break;
    case 'g':
        *pattern = PATTERN_GITHUB_TOKEN;
        n = is_alnum(prev) ? 0 : match_github_token(text, len);
        break;
    case 'x':
        *pattern = PATTERN_SLACK_TOKEN;
        n = is_alnum(prev) ? 0 : match_slack_token(text, len);
        break;
    case '-':
        *pattern = PATTERN_PRIVATE_KEY;
        n = match_private_key(text, len);
        break;
    case 'p':
        *pattern = PATTERN_PASSWORD;
        n = match_password(text, len);
        break;
    }
    return n;
}

static int send_hit(pipeline *p, const char *path, long line, int pattern, sp_ctx *ctx)
{
    count(&p->stats.hits[pattern], 1);

    hit h = {strdup(path), line, pattern};
    if (h.path == NULL)
        return ENOMEM;
    int rc = sp_chan_send(p->hits, &h, ctx);
    if (rc != 0)
        free(h.path);
    return rc;
}

/* Searches data[0 .. len) and sends each hit. No match spans a newline. */
static int search_buffer(pipeline *p, const char *path, const char *data, size_t len,
                         sp_ctx *ctx)
{
    long line = 1;
    unsigned char prev = '\n';
    size_t i = 0;

    while (i < len) {
        int pattern;
        size_t n = match_at(data + i, len - i, prev, &pattern);
        if (n == 0) {
            if (data[i] == '\n')
                line++;
            prev = (unsigned char)data[i];
            i++;
            continue;
        }

        int rc = send_hit(p, path, line, pattern, ctx);
        if (rc != 0)
            return rc;
        i += n;
        prev = (unsigned char)data[i - 1];
    }
    return 0;
}

/* Grows *buffer to at least size bytes. Returns 0 or ENOMEM. */
static int reserve_buffer(char **buffer, size_t *capacity, size_t size)
{
    if (size <= *capacity)
        return 0;
    char *bigger = realloc(*buffer, size);
    if (bigger == NULL)
        return ENOMEM;
    *buffer = bigger;
    *capacity = size;
    return 0;
}

/* Reads a whole file into *buffer and stores its length in *len. Returns
 * 0, or -1 after reporting a problem with this file (skip it), or ENOMEM. */
static int read_file(pipeline *p, const char *path, char **buffer, size_t *capacity,
                     size_t *len)
{
    /* O_NONBLOCK keeps open from blocking if the path became a FIFO after
     * the walk saw a regular file there. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        report(p, true, path, "cannot open: %s, skipping", strerror(errno));
        return -1;
    }

    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        report(p, true, path, "cannot stat: %s, skipping", strerror(errno));
        rc = -1;
    } else if (!S_ISREG(st.st_mode)) {
        count(&p->stats.special_files, 1);
        rc = -1;
    } else if (st.st_size > MAX_FILE_BYTES) {
        report(p, false, path, "larger than %d MiB (%lld bytes), skipping",
               MAX_FILE_BYTES / (1024 * 1024), (long long)st.st_size);
        count(&p->stats.large_files, 1);
        rc = -1;
    } else {
        rc = reserve_buffer(buffer, capacity, (size_t)st.st_size + 1);
    }

    /* Reads up to the size fstat returned; bytes appended later are ignored. */
    size_t done = 0;
    while (rc == 0 && done < (size_t)st.st_size) {
        ssize_t n = read(fd, *buffer + done, (size_t)st.st_size - done);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            report(p, true, path, "read failed: %s, skipping", strerror(errno));
            rc = -1;
            break;
        }
        done += (size_t)n;
    }

    close(fd);
    *len = done;
    return rc;
}

static int match_worker(sp_ctx *ctx, void *arg)
{
    pipeline *p = arg;
    char *buffer = NULL;
    size_t capacity = 0;
    char *path;
    int rc;

    while ((rc = sp_chan_recv(p->files, &path, ctx)) == 0) {
        size_t len;
        rc = read_file(p, path, &buffer, &capacity, &len);
        if (rc == 0) {
            count(&p->stats.files, 1);
            count(&p->stats.bytes, len);
            rc = search_buffer(p, path, buffer, len, ctx);
        }
        free(path);
        if (rc > 0)
            break;
    }

    free(buffer);
    return stage_result(p, rc == EPIPE ? 0 : rc); /* EPIPE: every file read */
}

/* ---- stage 3: verify -------------------------------------------------- */

/* Simulated verification latency: 2 to 10 ms, fixed per hit. */
static int64_t verify_latency_ns(const hit *h)
{
    uint64_t x = VERIFY_SEED;
    for (const char *c = h->path; *c != '\0'; c++)
        x = (x ^ (unsigned char)*c) * 0x100000001B3ull;
    x ^= (uint64_t)h->line * 0x9E3779B97F4A7C15ull + (uint64_t)h->pattern;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return 2000000 + (int64_t)(x % 8000001);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Waits for a rate token and a request slot, then makes the simulated
 * request. Returns 0, or ECANCELED/ETIMEDOUT when ctx ends first. */
static int verify_hit(pipeline *p, const hit *h, sp_ctx *ctx)
{
    int rc = sp_limiter_wait(p->limiter, 1, ctx);
    if (rc != 0)
        return rc;
    rc = sp_sem_acquire(p->in_flight, 1, ctx);
    if (rc != 0)
        return rc;

    sleep_ns(verify_latency_ns(h));

    sp_sem_release(p->in_flight, 1);
    count(&p->stats.verified, 1);
    printf("%s:%ld: %s\n", h->path, h->line, pattern_names[h->pattern]);
    return 0;
}

static int verify_worker(sp_ctx *ctx, void *arg)
{
    pipeline *p = arg;
    hit h;
    int rc;

    while ((rc = sp_chan_recv(p->hits, &h, ctx)) == 0) {
        rc = verify_hit(p, &h, ctx);
        free(h.path);
        if (rc != 0)
            break;
    }
    return stage_result(p, rc == EPIPE ? 0 : rc); /* EPIPE: every hit checked */
}

/* ---- setup, arguments and summary ------------------------------------- */

typedef struct options {
    double   verify_rate;
    uint64_t max_files;
    int      first_path; /* index in argv; argc when no path was given */
} options;

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--verify-rate N] [--max-files N] [PATH...]\n"
            "Scans directory trees and files for credential-shaped strings and checks\n"
            "each hit against a simulated verification service (no network).\n"
            "\n"
            "  --verify-rate N  verification requests per second, at least %g\n"
            "                   (default %g, burst %d)\n"
            "  --max-files N    stop walking after N files, 0 for no limit (default 0)\n"
            "  PATH             directory or file to scan (default /usr/include)\n"
            "\n"
            "Exit status:\n"
            "  0  success, also when some paths were skipped with a warning\n"
            "  1  a stage failed, or no given path could be scanned\n"
            "  2  invalid usage\n",
            PROGRAM, MIN_RATE, DEFAULT_RATE, VERIFY_BURST);
}

static bool parse_rate(const char *text, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(value) || value < MIN_RATE)
        return false;
    *out = value;
    return true;
}

static bool parse_count(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        return false;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = value;
    return true;
}

/* Parses argv into opts. Returns 0, or the exit status to return at once:
 * 2 for invalid usage (after a message), -1 after printing --help. */
static int parse_options(int argc, char **argv, options *opts)
{
    *opts = (options){.verify_rate = DEFAULT_RATE, .first_path = argc};

    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(stdout);
            return -1;
        }

        bool is_rate = strcmp(arg, "--verify-rate") == 0;
        bool is_max = strcmp(arg, "--max-files") == 0;
        if (!is_rate && !is_max) {
            fprintf(stderr, "%s: unknown option '%s'\n", PROGRAM, arg);
            print_usage(stderr);
            return 2;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "%s: missing value for %s\n", PROGRAM, arg);
            return 2;
        }

        const char *value = argv[++i];
        bool ok = is_rate ? parse_rate(value, &opts->verify_rate)
                          : parse_count(value, &opts->max_files);
        if (!ok && is_rate) {
            fprintf(stderr, "%s: invalid value '%s' for %s: expected requests per second, "
                    "at least %g\n", PROGRAM, value, arg, MIN_RATE);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "%s: invalid value '%s' for %s: expected an integer >= 0\n",
                    PROGRAM, value, arg);
            return 2;
        }
    }

    opts->first_path = i;
    return 0;
}

/* Sends one command-line path into the pipeline. Command-line symbolic
 * links are followed. Returns 0 or a fatal error. */
static int seed_path(pipeline *p, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        report(p, true, arg, "%s, skipping", strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        report(p, true, arg, "not a directory or regular file, skipping");
        return 0;
    }

    char *path = strdup(arg);
    if (path == NULL)
        return ENOMEM;
    if (S_ISREG(st.st_mode))
        return send_file(p, path, p->ctx);

    bool first;
    int rc = visited_add(&p->visited, &st, &first);
    if (rc != 0 || !first) {
        if (rc == 0)
            report(p, true, arg, "directory already scanned, skipping");
        free(path);
        return rc;
    }

    /* relaxed: main still holds its own pending unit */
    atomic_fetch_add_explicit(&p->pending_dirs, 1, memory_order_relaxed);
    rc = sp_chan_send(p->dirs, &path, p->ctx);
    if (rc != 0) {
        free(path);
        finish_directory(p);
    }
    return rc;
}

/* Reads the peak resident set size (VmHWM) in kB; -1 when unavailable. */
static long peak_rss_kb(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (status == NULL)
        return -1;

    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, status) != NULL) {
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    }
    fclose(status);
    return kb;
}

static void print_summary(pipeline *p, double seconds)
{
    scan_stats *s = &p->stats;
    uint64_t files = counter_value(&s->files);
    uint64_t total_hits = 0;

    printf("files %llu\n", (unsigned long long)files);
    printf("directories %llu\n", (unsigned long long)counter_value(&s->directories));
    printf("bytes %llu\n", (unsigned long long)counter_value(&s->bytes));
    for (int i = 0; i < PATTERN_COUNT; i++) {
        uint64_t n = counter_value(&s->hits[i]);
        total_hits += n;
        printf("hits %s %llu\n", pattern_names[i], (unsigned long long)n);
    }
    printf("hits total %llu\n", (unsigned long long)total_hits);
    printf("verified hits %llu\n", (unsigned long long)counter_value(&s->verified));
    printf("errors skipped %llu\n", (unsigned long long)counter_value(&s->errors));
    printf("symlinks not followed %llu\n", (unsigned long long)counter_value(&s->symlinks));
    printf("special files skipped %llu\n", (unsigned long long)counter_value(&s->special_files));
    printf("large files skipped %llu\n", (unsigned long long)counter_value(&s->large_files));
    printf("elapsed %.3f s\n", seconds);
    printf("files per hour %.0f\n", seconds > 0 ? (double)files / seconds * 3600.0 : 0.0);
    printf("peak RSS %ld kB\n", peak_rss_kb());
}

typedef struct stage {
    const char *name;
    sp_group   *group;
    sp_group_fn fn;
    unsigned    tasks;
} stage;

enum { STAGE_WALK, STAGE_MATCH, STAGE_VERIFY, STAGE_COUNT };

static unsigned stage_tasks(unsigned cpus, unsigned per_cpu)
{
    uint64_t n = (uint64_t)cpus * per_cpu;
    return n > MAX_STAGE_TASKS ? MAX_STAGE_TASKS : (unsigned)n;
}

static int create_channels(pipeline *p, const options *opts)
{
    int rc = sp_ctx_with_cancel(NULL, &p->ctx);
    if (rc == 0)
        rc = sp_chan_create(&p->dirs, sizeof(char *), DIR_CHAN_CAPACITY);
    if (rc == 0)
        rc = sp_chan_create(&p->files, sizeof(char *), FILE_CHAN_CAPACITY);
    if (rc == 0)
        rc = sp_chan_create(&p->hits, sizeof(hit), HIT_CHAN_CAPACITY);
    if (rc == 0)
        rc = sp_limiter_create(&p->limiter, opts->verify_rate, VERIFY_BURST);
    if (rc == 0)
        rc = sp_sem_create(&p->in_flight, VERIFY_IN_FLIGHT);
    if (rc == 0)
        rc = pthread_mutex_init(&p->visited.lock, NULL);
    return rc;
}

/* Frees what a failed run may leave in the channels, then the pipeline. */
static void destroy_pipeline(pipeline *p)
{
    char *path;
    hit h;
    while (p->dirs != NULL && sp_chan_try_recv(p->dirs, &path))
        free(path);
    while (p->files != NULL && sp_chan_try_recv(p->files, &path))
        free(path);
    while (p->hits != NULL && sp_chan_try_recv(p->hits, &h))
        free(h.path);

    sp_chan_destroy(p->dirs);
    sp_chan_destroy(p->files);
    sp_chan_destroy(p->hits);
    sp_limiter_destroy(p->limiter);
    sp_sem_destroy(p->in_flight);
    sp_ctx_release(p->ctx);
    pthread_mutex_destroy(&p->visited.lock);
    free(p->visited.slots);
}

/* Starts every stage, feeds the paths, and waits for the stages in
 * pipeline order, closing each one's output when it is done. Returns 0,
 * or 1 after naming the stage that failed. */
static int run_stages(pipeline *p, stage *stages, int argc, char **argv, int first_path)
{
    int rc = 0;
    for (int s = STAGE_VERIFY; s >= STAGE_WALK && rc == 0; s--) {
        for (unsigned t = 0; t < stages[s].tasks && rc == 0; t++)
            rc = sp_group_go(stages[s].group, stages[s].fn, p);
    }
    if (rc != 0) {
        fprintf(stderr, "%s: starting the stage tasks failed: %s\n", PROGRAM, strerror(rc));
        sp_ctx_cancel(p->ctx);
    }

    static char *const default_paths[] = {"/usr/include"};
    char *const *paths = first_path < argc ? argv + first_path : default_paths;
    int path_count = first_path < argc ? argc - first_path : 1;
    for (int i = 0; i < path_count && rc == 0; i++)
        rc = seed_path(p, paths[i]);
    if (rc != 0 && rc != ECANCELED)
        fprintf(stderr, "%s: sending the paths failed: %s\n", PROGRAM, strerror(rc));
    finish_directory(p); /* main's own unit; closes dirs if the walk is over */

    int result[STAGE_COUNT];
    result[STAGE_WALK] = sp_group_wait(stages[STAGE_WALK].group);
    sp_chan_close(p->dirs); /* returns EPIPE when the last walker closed it */
    sp_chan_close(p->files);
    result[STAGE_MATCH] = sp_group_wait(stages[STAGE_MATCH].group);
    sp_chan_close(p->hits);
    result[STAGE_VERIFY] = sp_group_wait(stages[STAGE_VERIFY].group);

    /* A stage that failed on its own returns its error; the others see the
     * canceled context and return ECANCELED. */
    int failed = -1;
    for (int s = 0; s < STAGE_COUNT; s++) {
        if (result[s] == 0)
            continue;
        if (failed < 0 || (result[failed] == ECANCELED && result[s] != ECANCELED))
            failed = s;
    }
    if (failed >= 0)
        fprintf(stderr, "%s: %s stage failed: %s\n", PROGRAM, stages[failed].name,
                strerror(result[failed]));
    return rc != 0 || failed >= 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    options opts;
    int status = parse_options(argc, argv, &opts);
    if (status != 0)
        return status < 0 ? 0 : status;

    /* The CPU pool: its worker count is what this program calls CPUs. */
    sp_pool *cpu_pool;
    int rc = sp_pool_create(&cpu_pool, NULL);
    if (rc != 0) {
        fprintf(stderr, "%s: creating the CPU pool failed: %s\n", PROGRAM, strerror(rc));
        return 1;
    }
    unsigned cpus = sp_pool_workers(cpu_pool);

    stage stages[STAGE_COUNT] = {
        [STAGE_WALK] = {"walk", NULL, walk_worker, stage_tasks(cpus, WALKERS_PER_CPU)},
        [STAGE_MATCH] = {"match", NULL, match_worker, stage_tasks(cpus, 1)},
        [STAGE_VERIFY] = {"verify", NULL, verify_worker, stage_tasks(cpus, VERIFIERS_PER_CPU)},
    };

    /* The blocking pool: one worker per walk and verify task. */
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = stages[STAGE_WALK].tasks + stages[STAGE_VERIFY].tasks;
    cfg.pin = SP_PIN_NONE;
    sp_pool *io_pool = NULL;
    rc = sp_pool_create(&io_pool, &cfg);

    static pipeline p; /* static: starts zeroed */
    p.max_files = opts.max_files;
    atomic_init(&p.pending_dirs, 1);
    if (rc == 0)
        rc = create_channels(&p, &opts);
    for (int s = 0; s < STAGE_COUNT && rc == 0; s++)
        rc = sp_group_create(&stages[s].group, s == STAGE_MATCH ? cpu_pool : io_pool, p.ctx);
    if (rc != 0) {
        fprintf(stderr, "%s: setup failed: %s\n", PROGRAM, strerror(rc));
        return 1;
    }

    printf("CPUs %u: walk %u tasks, match %u, verify %u (rate %g/s, burst %d, "
           "in flight %d)\n",
           cpus, stages[STAGE_WALK].tasks, stages[STAGE_MATCH].tasks,
           stages[STAGE_VERIFY].tasks, opts.verify_rate, VERIFY_BURST, VERIFY_IN_FLIGHT);
    int64_t start = sp_now_ns();

    status = run_stages(&p, stages, argc, argv, opts.first_path);

    print_summary(&p, (double)(sp_now_ns() - start) / 1e9);

    /* A path counts as scanned once its directory was opened or its file
     * was read. A run that scanned nothing exits with status 1, so that a
     * script does not take it for a clean scan. */
    bool scanned_any =
        counter_value(&p.stats.files) > 0 || counter_value(&p.stats.directories) > 0;
    if (status == 0 && !scanned_any) {
        fprintf(stderr, "%s: no given path could be scanned (see the messages above)\n",
                PROGRAM);
        status = 1;
    }

    for (int s = 0; s < STAGE_COUNT; s++)
        sp_group_destroy(stages[s].group);
    destroy_pipeline(&p);
    sp_pool_destroy(io_pool);
    sp_pool_destroy(cpu_pool);
    return status;
}

/* Capturing library log lines in tests, through sp_set_log. */
#ifndef SP_TESTS_LOG_CAPTURE_H
#define SP_TESTS_LOG_CAPTURE_H

#include <pthread.h>
#include <stdio.h>

#include <stealpool.h>

/* Log lines captured through sp_set_log. */
typedef struct log_capture {
    pthread_mutex_t lock;
    int             lines;
    char            last[512];
} log_capture;

static log_capture captured = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void capture_line(void *user, const char *line)
{
    log_capture *log = user;
    pthread_mutex_lock(&log->lock);
    log->lines++;
    snprintf(log->last, sizeof log->last, "%s", line);
    pthread_mutex_unlock(&log->lock);
}

/* Starts counting log lines into `captured`. */
static inline void capture_start(void)
{
    pthread_mutex_lock(&captured.lock);
    captured.lines = 0;
    captured.last[0] = '\0';
    pthread_mutex_unlock(&captured.lock);
    sp_set_log(capture_line, &captured);
}

/* Restores the default log hook and returns the lines captured. */
static inline int capture_stop(void)
{
    sp_set_log(NULL, NULL);
    pthread_mutex_lock(&captured.lock);
    int lines = captured.lines;
    pthread_mutex_unlock(&captured.lock);
    return lines;
}

#endif

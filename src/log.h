/* Library diagnostics through the hook set by sp_set_log. */
#ifndef SP_LOG_H
#define SP_LOG_H

/* Formats one line and passes it to the log hook. Thread-safe. */
void sp__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* The table of suites that --suite selects from, in the order "all" runs them. */
#include "bench.h"

extern const sb_suite sb_suite_forkjoin;
extern const sb_suite sb_suite_sync;
extern const sb_suite sb_suite_patterns;
extern const sb_suite sb_suite_memory;
extern const sb_suite sb_suite_limiter;
extern const sb_suite sb_suite_idle;

const sb_suite *const sb_suites[] = {
    &sb_suite_forkjoin,
    &sb_suite_sync,
    &sb_suite_patterns,
    &sb_suite_memory,
    &sb_suite_limiter,
    &sb_suite_idle,
    NULL,
};

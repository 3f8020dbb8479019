/* The table of suites that --suite selects from, in the order "all" runs them. */
#include "bench.h"

extern const sb_suite sb_suite_forkjoin;

const sb_suite *const sb_suites[] = {
    &sb_suite_forkjoin,
    NULL,
};

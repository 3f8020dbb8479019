/* Pool creation shared by the scheduler tests. */
#ifndef SP_TESTS_SUPPORT_H
#define SP_TESTS_SUPPORT_H

#include <stealpool.h>

#include "check.h"

/* Creates a pool of workers with the given idle spin and defaults otherwise. */
static inline sp_pool *make_pool_spin(unsigned workers, unsigned spin_us)
{
    sp_config cfg;
    sp_config_init(&cfg);
    cfg.workers = workers;
    cfg.spin_us = spin_us;
    sp_pool *pool = NULL;
    CHECK_EQ(sp_pool_create(&pool, &cfg), 0);
    return pool;
}

/* Creates a pool of workers with the default settings. */
static inline sp_pool *make_pool(unsigned workers)
{
    sp_config cfg;
    sp_config_init(&cfg);
    return make_pool_spin(workers, cfg.spin_us);
}

#endif

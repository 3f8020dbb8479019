/* Umbrella header for the stealpool library. */
#ifndef STEALPOOL_H
#define STEALPOOL_H

#include <stealpool/pool.h>
#include <stealpool/stats.h>
#include <stealpool/ctx.h>
#include <stealpool/sem.h>
#include <stealpool/group.h>
#include <stealpool/chan.h>
#include <stealpool/limiter.h>

#endif

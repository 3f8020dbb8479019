/*
 * The per-item work of the bounded-concurrency examples: a stand-in for
 * real work, so that every example processes the same items at the same
 * cost and prints the same checksum.
 */
#ifndef EXAMPLE_WORK_H
#define EXAMPLE_WORK_H

#include <stdint.h>

/* Returns the result of item after 20 to 200 mixing steps. */
static inline uint64_t example_process(uint64_t item)
{
    uint64_t x = item * 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < 20 + item % 181; i++)
        x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
    return x;
}

#endif

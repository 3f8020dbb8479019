/* The P1 item function; see p1.h. */
#include "p1.h"

uint32_t p1_hash(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

__attribute__((noinline)) uint32_t p1_item(uint32_t i)
{
    uint32_t s = p1_hash(i);
    uint32_t iterations = 20 + s % 180;

    for (uint32_t j = 0; j < iterations; j++) {
        s ^= s >> 13;
        s *= 0x5bd1e995u;
        s ^= s >> 15;
        s += j;
    }
    return s;
}

uint64_t p1_range(uint32_t lo, uint32_t hi)
{
    uint64_t sum = 0;
    for (uint32_t i = lo; i < hi; i++)
        sum += p1_item(i);
    return sum;
}

/* P1 on OpenMP: `parallel for schedule(dynamic)`, one item per chunk. */
#include "ref_p1.h"

#include <errno.h>

#include <omp.h>

#include "p1.h"

int ref_omp_p1(unsigned threads, uint32_t count, uint64_t *checksum)
{
    if (threads == 0)
        return EINVAL;

    uint64_t sum = 0;
    omp_set_dynamic(0);
#pragma omp parallel for schedule(dynamic) num_threads(threads) reduction(+ : sum)
    for (uint32_t i = 0; i < count; i++)
        sum += p1_item(i % P1_BATCH_ITEMS);

    *checksum = sum;
    return 0;
}

#include "fib.h"

#include <stealpool/pool.h>

uint64_t fib_seq(unsigned n)
{
    if (n < 2)
        return n;
    return fib_seq(n - 1) + fib_seq(n - 2);
}

/* noipa keeps GCC from inlining, cloning or unrolling the recursion. */
__attribute__((noipa)) uint64_t fib_seq_calls(unsigned n)
{
    if (n < 2)
        return n;
    return fib_seq_calls(n - 1) + fib_seq_calls(n - 2);
}

/* noipa, as for fib_seq_calls: fib_sp_task calls itself through sp_join, so
 * the compiler cannot inline or unroll that recursion either. */
__attribute__((noipa)) void fib_seq_frames(void *frame)
{
    fib_frame *f = frame;
    if (f->n < 2) {
        f->result = f->n;
        return;
    }

    fib_frame a = {f->n - 1, 0};
    fib_frame b = {f->n - 2, 0};
    fib_seq_frames(&a);
    fib_seq_frames(&b);
    f->result = a.result + b.result;
}

uint64_t fib_iterative(unsigned n)
{
    uint64_t previous = 0;
    uint64_t current = 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t next = previous + current;
        previous = current;
        current = next;
    }
    return previous;
}

uint64_t fib_call_count(unsigned n)
{
    return 2 * fib_iterative(n + 1) - 1;
}

void fib_sp_task(void *frame)
{
    fib_frame *f = frame;
    if (f->n < 2) {
        f->result = f->n;
        return;
    }

    fib_frame a = {f->n - 1, 0};
    fib_frame b = {f->n - 2, 0};
    sp_join(fib_sp_task, &a, fib_sp_task, &b);
    f->result = a.result + b.result;
}

int fib_sp(sp_pool *pool, unsigned n, uint64_t *out)
{
    fib_frame root = {n, 0};
    int rc = sp_pool_run(pool, fib_sp_task, &root);
    if (rc == 0)
        *out = root.result;
    return rc;
}

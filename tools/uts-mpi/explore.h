/*
 * A rank's work list of unexplored UTS nodes and its expansion on a
 * stealpool pool in bursts.
 *
 * Only the rank's main thread touches a node_list. A burst moves the top
 * nodes of the list into items, explores each item on the pool for at most
 * a budget of nodes, then pushes what each item left unexplored back onto
 * the list. Between bursts the main thread is free to talk MPI.
 */
#ifndef UTS_MPI_EXPLORE_H
#define UTS_MPI_EXPLORE_H

#include <stddef.h>

#include <stealpool/pool.h>

#include "protocol.h"
#include "uts.h"

/* A stack of nodes; the top is the end of the array. */
typedef struct node_list {
    uts_node *nodes;
    size_t count;
    size_t capacity;
} node_list;

/* Makes room for `extra` more nodes. Returns 0 or ENOMEM. */
int node_list_reserve(node_list *list, size_t extra);

/* Pushes one node. Returns 0 or ENOMEM. */
static inline int node_list_push(node_list *list, const uts_node *node)
{
    if (list->count == list->capacity) {
        int rc = node_list_reserve(list, 1);
        if (rc != 0)
            return rc;
    }
    list->nodes[list->count++] = *node;
    return 0;
}

/* Removes the `n` bottom nodes (n <= count), keeping the order of the rest. */
void node_list_drop_bottom(node_list *list, size_t n);

/* Frees the list's memory and empties it. */
void node_list_free(node_list *list);

/* One unit of a burst: a start node, what it left unexplored, its counts. */
typedef struct burst_item {
    uts_node start;
    node_list frontier; /* the item's depth-first stack, then its leftovers */
    uts_counts counts;
    int error;          /* ENOMEM when the frontier could not grow */
} burst_item;

/* Burst settings and the items it reuses from burst to burst. */
typedef struct burst {
    const uts_params *params;
    sp_pool *pool;
    size_t burst_budget; /* nodes one burst counts at most, shared by its items */
    size_t max_items;    /* nodes taken from the list per burst, at most */
    size_t item_budget;  /* the current burst's budget per item */
    burst_item *items;   /* max_items entries */
} burst;

/*
 * Prepares b for bursts of up to max_items items that count up to
 * burst_budget nodes in all (both >= 1) on pool. Returns 0, EINVAL for a
 * zero size, or ENOMEM.
 */
int burst_init(burst *b, const uts_params *params, sp_pool *pool, size_t burst_budget,
               size_t max_items);

/*
 * Takes up to max_items nodes from the top of list, explores them in
 * parallel on the pool (blocks until done), each for an equal share of
 * burst_budget nodes (at least one), adds the nodes counted into
 * *acc and pushes the unexplored nodes back onto list. Call it from outside
 * the pool. Returns 0, ENOMEM (the counts are then incomplete), or
 * sp_parallel_for's error.
 */
int burst_run(burst *b, node_list *list, uts_counts *acc);

/* Frees the items of b. */
void burst_destroy(burst *b);

#endif

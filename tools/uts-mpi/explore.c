/* Work list and burst expansion for uts-mpi. */
#include "explore.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int node_list_reserve(node_list *list, size_t extra)
{
    if (extra <= list->capacity - list->count)
        return 0;
    if (extra > SIZE_MAX / sizeof(uts_node) - list->count)
        return ENOMEM;

    size_t needed = list->count + extra;
    size_t capacity = list->capacity < 64 ? 64 : list->capacity;
    while (capacity < needed)
        capacity = capacity > SIZE_MAX / (2 * sizeof(uts_node)) ? needed : capacity * 2;

    uts_node *nodes = realloc(list->nodes, capacity * sizeof(uts_node));
    if (nodes == NULL)
        return ENOMEM;
    list->nodes = nodes;
    list->capacity = capacity;
    return 0;
}

void node_list_drop_bottom(node_list *list, size_t n)
{
    memmove(list->nodes, list->nodes + n, (list->count - n) * sizeof(uts_node));
    list->count -= n;
}

void node_list_free(node_list *list)
{
    free(list->nodes);
    memset(list, 0, sizeof *list);
}

int burst_init(burst *b, const uts_params *params, sp_pool *pool, size_t burst_budget,
               size_t max_items)
{
    memset(b, 0, sizeof *b);
    if (burst_budget == 0 || max_items == 0)
        return EINVAL;

    b->items = calloc(max_items, sizeof(burst_item));
    if (b->items == NULL)
        return ENOMEM;
    b->params = params;
    b->pool = pool;
    b->burst_budget = burst_budget;
    b->max_items = max_items;
    return 0;
}

void burst_destroy(burst *b)
{
    for (size_t i = 0; i < b->max_items; i++)
        node_list_free(&b->items[i].frontier);
    free(b->items);
    memset(b, 0, sizeof *b);
}

/*
 * Counts nodes depth first from item->start until the budget is spent or
 * the subtree is done. The frontier is the stack, so whatever it contains at
 * the end is exactly the set of generated but uncounted nodes.
 */
static void explore_item(const uts_params *params, size_t budget, burst_item *item)
{
    node_list *stack = &item->frontier;
    stack->count = 0;
    memset(&item->counts, 0, sizeof item->counts);
    item->error = node_list_push(stack, &item->start);

    while (item->error == 0 && stack->count > 0 && budget > 0) {
        uts_node node = stack->nodes[--stack->count];
        int children = uts_count_node(params, &node.state, node.height, &item->counts);
        budget--;

        item->error = node_list_reserve(stack, (size_t)children);
        if (item->error != 0)
            break;
        /* Pushed last to first so that child 0 is counted first. */
        for (int i = children - 1; i >= 0; i--) {
            uts_node *child = &stack->nodes[stack->count++];
            uts_child_state(&node.state, (uint32_t)i, &child->state);
            child->height = node.height + 1;
        }
    }
}

static void explore_range(size_t lo, size_t hi, void *arg)
{
    burst *b = arg;
    for (size_t i = lo; i < hi; i++)
        explore_item(b->params, b->item_budget, &b->items[i]);
}

int burst_run(burst *b, node_list *list, uts_counts *acc)
{
    if (list->count == 0)
        return 0;

    size_t n = list->count < b->max_items ? list->count : b->max_items;
    for (size_t i = 0; i < n; i++)
        b->items[i].start = list->nodes[list->count - 1 - i];
    list->count -= n;

    /* The items share the burst's budget: many small items when the list
     * is long, so that the workers balance, and a large one when it is
     * short, so that the cost of starting a burst stays small against its
     * work. */
    b->item_budget = b->burst_budget / n > 0 ? b->burst_budget / n : 1;

    /* Grain 1: items differ in cost by orders of magnitude (a leaf costs
     * one node, an inner node the whole budget), so every item may be
     * split off on its own. */
    int rc = sp_parallel_for(b->pool, 0, n, 1, explore_range, b);
    if (rc != 0)
        return rc;

    for (size_t i = 0; i < n; i++) {
        burst_item *item = &b->items[i];
        if (item->error != 0)
            return item->error;
        uts_counts_merge(acc, &item->counts);

        rc = node_list_reserve(list, item->frontier.count);
        if (rc != 0)
            return rc;
        memcpy(list->nodes + list->count, item->frontier.nodes,
               item->frontier.count * sizeof(uts_node));
        list->count += item->frontier.count;
    }
    return 0;
}

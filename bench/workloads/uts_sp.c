#include "uts_sp.h"

#include <string.h>

/* Children lo .. hi-1 of one node, and their counts on return. */
typedef struct child_range {
    const uts_params *params;
    const uts_state *parent;
    uint32_t child_height;
    int lo;
    int hi;
    uts_counts counts;
} child_range;

static void range_task(void *arg);

/* Adds the subtree under node (at height) into *acc. */
static void visit(const uts_params *p, const uts_state *node, uint32_t height, uts_counts *acc)
{
    int children = uts_count_node(p, node, height, acc);
    if (children == 0)
        return;

    child_range all = {p, node, height + 1, 0, children, {0, 0, 0}};
    range_task(&all);
    uts_counts_merge(acc, &all.counts);
}

static void range_task(void *arg)
{
    child_range *r = arg;

    if (r->hi - r->lo == 1) {
        uts_state child;
        uts_child_state(r->parent, (uint32_t)r->lo, &child);
        visit(r->params, &child, r->child_height, &r->counts);
        return;
    }

    int mid = r->lo + (r->hi - r->lo) / 2;
    child_range left = {r->params, r->parent, r->child_height, r->lo, mid, {0, 0, 0}};
    child_range right = {r->params, r->parent, r->child_height, mid, r->hi, {0, 0, 0}};
    sp_join(range_task, &left, range_task, &right);
    r->counts = left.counts;
    uts_counts_merge(&r->counts, &right.counts);
}

typedef struct root_frame {
    const uts_params *params;
    uts_counts counts;
} root_frame;

static void root_task(void *arg)
{
    root_frame *root = arg;
    uts_state state;
    uts_root_state(root->params, &state);
    visit(root->params, &state, 0, &root->counts);
}

int uts_count_sp(sp_pool *pool, const uts_params *p, uts_counts *out)
{
    root_frame root;
    memset(&root, 0, sizeof root);
    root.params = p;

    int rc = sp_pool_run(pool, root_task, &root);
    if (rc == 0)
        *out = root.counts;
    return rc;
}

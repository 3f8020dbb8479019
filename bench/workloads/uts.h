/*
 * Unbalanced Tree Search (UTS) tree generator and node counters.
 *
 * The generator follows the UTS benchmark of Olivier, Huan, Liu, Prins,
 * Dinan, Sadayappan and Tseng ("UTS: An Unbalanced Tree Search Benchmark",
 * LCPC 2006) bit for bit, so the counts match the published trees:
 * - a node's state is a 20-byte SHA-1 digest;
 * - the root state is SHA-1 of 16 zero bytes followed by the seed as a
 *   4-byte big-endian integer;
 * - child i (0-based) gets SHA-1 of the parent's 20 state bytes followed by
 *   i as 4 big-endian bytes;
 * - a node's random value is state bytes 16..19 read big-endian and masked
 *   with 0x7fffffff; divided by 2^31 it is the node's probability.
 *
 * uts.c needs only OpenSSL's libcrypto, so other programs (an MPI version,
 * for one) can reuse it without stealpool; uts_sp.c adds the stealpool
 * counter.
 */
#ifndef SP_BENCH_UTS_H
#define SP_BENCH_UTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tree type, the -t option. */
typedef enum {
    UTS_BINOMIAL = 0, /* root has floor(b) children, others m with probability q */
    UTS_GEOMETRIC = 1 /* geometric number of children around an expected b */
} uts_tree_type;

/* Shape of the expected branching of a geometric tree, the -a option. */
typedef enum {
    UTS_SHAPE_LINEAR = 0, /* b * (1 - height / depth_limit) */
    UTS_SHAPE_FIXED = 3   /* b while height < depth_limit, then 0 */
} uts_geo_shape;

/* Tree parameters; the comment names the UTS command-line option. */
typedef struct uts_params {
    uts_tree_type type; /* -t */
    uts_geo_shape shape; /* -a, geometric trees only */
    int depth_limit;     /* -d, geometric trees only */
    double branching;    /* -b: root branching (binomial), expected branching (geometric) */
    double non_leaf_probability; /* -q, binomial trees only */
    int non_leaf_children;       /* -m, binomial trees only */
    uint32_t seed;               /* -r */
} uts_params;

/* Node state: a SHA-1 digest. */
typedef struct uts_state {
    unsigned char digest[20];
} uts_state;

/* Result of a tree traversal. */
typedef struct uts_counts {
    uint64_t nodes;
    uint64_t leaves;
    uint32_t max_depth; /* largest height seen; the root has height 0 */
} uts_counts;

/* A named tree with its parameter string and known counts. */
typedef struct uts_named_tree {
    const char *name;
    const char *args;
    uts_counts expected;
} uts_named_tree;

/* Maximum number of children of a node other than a binomial root. */
#define UTS_MAX_CHILDREN 100

/*
 * Parses UTS options such as "-t 1 -a 3 -d 10 -b 4 -r 19" into p. Options
 * not given keep the value p already holds; start from uts_params_init.
 * Accepts -t 0|1, -a 0|3, -d 1..1000000, -b in (0, 1e9], -q in [0, 1], -m 1..100 and
 * -r 0..2^31-1. Returns 0, or EINVAL after writing a one-line reason into
 * err (err_size bytes, may be 0). p is unspecified after an error.
 */
int uts_params_parse(uts_params *p, const char *args, char *err, size_t err_size);

/* Fills p with the UTS defaults: a geometric fixed tree, -d 6 -b 4 -r 0. */
void uts_params_init(uts_params *p);

/* Writes p as an option string ("-t 1 -a 3 ...") into buf. */
void uts_params_format(const uts_params *p, char *buf, size_t size);

/*
 * Returns the named tree ("T1", "T3", "T1L", "T3L", case-sensitive), or
 * NULL for an unknown name.
 */
const uts_named_tree *uts_tree_find(const char *name);

/* Returns the table of named trees; *count receives its length. */
const uts_named_tree *uts_trees(size_t *count);

/* Computes the state of the tree's root. */
void uts_root_state(const uts_params *p, uts_state *out);

/* Computes the state of child `index` of the node with state `parent`. */
void uts_child_state(const uts_state *parent, uint32_t index, uts_state *out);

/*
 * Returns the number of children of a node: 0 .. UTS_MAX_CHILDREN, except
 * that a binomial root has floor(branching).
 */
int uts_num_children(const uts_params *p, const uts_state *node, uint32_t height);

/*
 * Counts a node into acc (one node, one leaf when it has no children, the
 * max depth) and returns its number of children, as uts_num_children.
 */
int uts_count_node(const uts_params *p, const uts_state *node, uint32_t height, uts_counts *acc);

/* Adds the counts of b into a (nodes, leaves, max of max_depth). */
void uts_counts_merge(uts_counts *a, const uts_counts *b);

/* Counts the whole tree on the calling thread (depth-first recursion). */
void uts_count_seq(const uts_params *p, uts_counts *out);

#ifdef __cplusplus
}
#endif

#endif

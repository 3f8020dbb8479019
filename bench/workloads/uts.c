/* UTS tree generator, option parsing and the sequential counter. */
#include "uts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

/* Counts from the UTS benchmark's published sample trees. */
static const uts_named_tree named_trees[] = {
    {"T1", "-t 1 -a 3 -d 10 -b 4 -r 19", {4130071, 3305118, 10}},
    {"T3", "-t 0 -b 2000 -q 0.124875 -m 8 -r 42", {4112897, 3599034, 1572}},
    {"T1L", "-t 1 -a 3 -d 13 -b 4 -r 29", {102181082, 81746377, 13}},
    {"T3L", "-t 0 -b 2000 -q 0.200014 -m 5 -r 7", {111345631, 89076904, 17844}},
};

static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
    if (err == NULL || err_size == 0)
        return;

    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

void uts_params_init(uts_params *p)
{
    p->type = UTS_GEOMETRIC;
    p->shape = UTS_SHAPE_FIXED;
    p->depth_limit = 6;
    p->branching = 4.0;
    p->non_leaf_probability = 15.0 / 64.0;
    p->non_leaf_children = 4;
    p->seed = 0;
}

/* Parses the whole of text as a long in [min, max]. */
static int parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return EINVAL;
    *out = value;
    return 0;
}

/* Parses the whole of text as a finite double in [min, max]. */
static int parse_double(const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(value) || value < min ||
        value > max)
        return EINVAL;
    *out = value;
    return 0;
}

/* Applies one option letter with its value text. */
static int apply_option(uts_params *p, char letter, const char *value, char *err,
                        size_t err_size)
{
    long number = 0;
    double real = 0.0;
    int rc = EINVAL;

    switch (letter) {
    case 't':
        rc = parse_long(value, 0, 1, &number);
        if (rc == 0)
            p->type = (uts_tree_type)number;
        break;
    case 'a':
        rc = parse_long(value, 0, 3, &number);
        if (rc == 0 && number != UTS_SHAPE_LINEAR && number != UTS_SHAPE_FIXED)
            rc = EINVAL;
        if (rc == 0)
            p->shape = (uts_geo_shape)number;
        break;
    case 'd':
        rc = parse_long(value, 1, 1000000, &number);
        if (rc == 0)
            p->depth_limit = (int)number;
        break;
    case 'b':
        rc = parse_double(value, 0.0, 1e9, &real);
        if (rc == 0 && real <= 0.0)
            rc = EINVAL;
        if (rc == 0)
            p->branching = real;
        break;
    case 'q':
        rc = parse_double(value, 0.0, 1.0, &real);
        if (rc == 0)
            p->non_leaf_probability = real;
        break;
    case 'm':
        rc = parse_long(value, 1, UTS_MAX_CHILDREN, &number);
        if (rc == 0)
            p->non_leaf_children = (int)number;
        break;
    case 'r':
        rc = parse_long(value, 0, 0x7fffffffL, &number);
        if (rc == 0)
            p->seed = (uint32_t)number;
        break;
    default:
        set_error(err, err_size, "unknown UTS option -%c", letter);
        return EINVAL;
    }

    if (rc != 0)
        set_error(err, err_size,
                  "invalid value '%s' for UTS option -%c (accepted: -t 0|1, -a 0|3, "
                  "-d 1..1000000, -b above 0 up to 1e9, -q 0..1, -m 1..100, -r 0..2147483647)",
                  value, letter);
    return rc;
}

int uts_params_parse(uts_params *p, const char *args, char *err, size_t err_size)
{
    if (p == NULL || args == NULL) {
        set_error(err, err_size, "uts_params_parse: NULL argument");
        return EINVAL;
    }

    char buf[512];
    if (strlen(args) >= sizeof buf) {
        set_error(err, err_size, "UTS option string longer than %zu bytes", sizeof buf - 1);
        return EINVAL;
    }
    strcpy(buf, args);

    char *save = NULL;
    for (char *word = strtok_r(buf, " \t", &save); word != NULL;
         word = strtok_r(NULL, " \t", &save)) {
        if (word[0] != '-' || word[1] == '\0' || word[2] != '\0') {
            set_error(err, err_size, "invalid UTS option '%s' (expected -t, -a, -d, -b, -q, -m or -r)",
                      word);
            return EINVAL;
        }

        char letter = word[1];
        char *value = strtok_r(NULL, " \t", &save);
        if (value == NULL) {
            set_error(err, err_size, "missing value after UTS option -%c", letter);
            return EINVAL;
        }

        int rc = apply_option(p, letter, value, err, err_size);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void uts_params_format(const uts_params *p, char *buf, size_t size)
{
    if (p->type == UTS_BINOMIAL)
        snprintf(buf, size, "-t 0 -b %g -q %g -m %d -r %u", p->branching,
                 p->non_leaf_probability, p->non_leaf_children, (unsigned)p->seed);
    else
        snprintf(buf, size, "-t 1 -a %d -d %d -b %g -r %u", (int)p->shape, p->depth_limit,
                 p->branching, (unsigned)p->seed);
}

const uts_named_tree *uts_trees(size_t *count)
{
    *count = sizeof named_trees / sizeof named_trees[0];
    return named_trees;
}

const uts_named_tree *uts_tree_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof named_trees / sizeof named_trees[0]; i++)
        if (strcmp(named_trees[i].name, name) == 0)
            return &named_trees[i];
    return NULL;
}

static void put_be32(unsigned char *dst, uint32_t value)
{
    dst[0] = (unsigned char)(value >> 24);
    dst[1] = (unsigned char)(value >> 16);
    dst[2] = (unsigned char)(value >> 8);
    dst[3] = (unsigned char)value;
}

/*
 * OpenSSL 3's one-shot SHA1() looks the algorithm up on every call. On the
 * 2-vCPU test machine that cost 0.3 us per node instead of 0.09 us, and two
 * threads ran only 1.6 times as fast as one. Each thread therefore keeps
 * one digest context for the algorithm, fetched once.
 */
static EVP_MD *sha1_md;
static pthread_key_t sha1_context_key;
static bool sha1_key_ready;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;
static _Thread_local EVP_MD_CTX *sha1_context;

static void sha1_context_free(void *context)
{
    EVP_MD_CTX_free(context);
}

static void sha1_setup(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
    sha1_key_ready = pthread_key_create(&sha1_context_key, sha1_context_free) == 0;
}

/* Returns this thread's digest context, or NULL when OpenSSL failed. */
static EVP_MD_CTX *sha1_thread_context(void)
{
    if (sha1_context != NULL)
        return sha1_context;

    pthread_once(&sha1_once, sha1_setup);
    if (sha1_md == NULL || !sha1_key_ready)
        return NULL;

    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (context == NULL)
        return NULL;
    /* The key's destructor frees the context when the thread exits. */
    if (pthread_setspecific(sha1_context_key, context) != 0) {
        EVP_MD_CTX_free(context);
        return NULL;
    }
    sha1_context = context;
    return context;
}

/* Stores the SHA-1 of data in digest. Falls back to the one-shot SHA1()
 * when a context cannot be set up, so the digest is always computed. */
static void sha1(const unsigned char *data, size_t size, unsigned char digest[20])
{
    EVP_MD_CTX *context = sha1_thread_context();
    unsigned int length = 0;

    if (context != NULL && EVP_DigestInit_ex2(context, sha1_md, NULL) == 1 &&
        EVP_DigestUpdate(context, data, size) == 1 &&
        EVP_DigestFinal_ex(context, digest, &length) == 1 && length == 20)
        return;

    SHA1(data, size, digest);
}

void uts_root_state(const uts_params *p, uts_state *out)
{
    unsigned char input[20] = {0};
    put_be32(input + 16, p->seed);
    sha1(input, sizeof input, out->digest);
}

void uts_child_state(const uts_state *parent, uint32_t index, uts_state *out)
{
    unsigned char input[24];
    memcpy(input, parent->digest, 20);
    put_be32(input + 20, index);
    sha1(input, sizeof input, out->digest);
}

/* Returns the node's probability: bytes 16..19, big-endian, 31 bits, over 2^31. */
static double node_probability(const uts_state *node)
{
    const unsigned char *d = node->digest;
    uint32_t value = ((uint32_t)d[16] << 24) | ((uint32_t)d[17] << 16) |
                     ((uint32_t)d[18] << 8) | (uint32_t)d[19];
    return (double)(value & 0x7fffffffu) / 2147483648.0;
}

/* Returns the expected branching of a geometric tree at `height`. */
static double geometric_expectation(const uts_params *p, uint32_t height)
{
    if (height == 0)
        return p->branching;
    if (p->shape == UTS_SHAPE_LINEAR)
        return p->branching * (1.0 - (double)height / (double)p->depth_limit);
    return height < (uint32_t)p->depth_limit ? p->branching : 0.0;
}

int uts_num_children(const uts_params *p, const uts_state *node, uint32_t height)
{
    if (p->type == UTS_BINOMIAL) {
        /* Only the binomial root may exceed UTS_MAX_CHILDREN (T3's has 2000). */
        if (height == 0)
            return (int)floor(p->branching);
        return node_probability(node) < p->non_leaf_probability ? p->non_leaf_children : 0;
    }

    double expected = geometric_expectation(p, height);
    if (expected <= 0.0)
        return 0;

    double p_stop = 1.0 / (1.0 + expected);
    double children = floor(log(1.0 - node_probability(node)) / log(1.0 - p_stop));
    return children > UTS_MAX_CHILDREN ? UTS_MAX_CHILDREN : (int)children;
}

void uts_counts_merge(uts_counts *a, const uts_counts *b)
{
    a->nodes += b->nodes;
    a->leaves += b->leaves;
    if (b->max_depth > a->max_depth)
        a->max_depth = b->max_depth;
}

int uts_count_node(const uts_params *p, const uts_state *node, uint32_t height, uts_counts *acc)
{
    int children = uts_num_children(p, node, height);

    acc->nodes++;
    if (height > acc->max_depth)
        acc->max_depth = height;
    if (children == 0)
        acc->leaves++;
    return children;
}

static void count_subtree(const uts_params *p, const uts_state *node, uint32_t height,
                          uts_counts *acc)
{
    int children = uts_count_node(p, node, height, acc);
    for (int i = 0; i < children; i++) {
        uts_state child;
        uts_child_state(node, (uint32_t)i, &child);
        count_subtree(p, &child, height + 1, acc);
    }
}

void uts_count_seq(const uts_params *p, uts_counts *out)
{
    uts_state root;
    uts_root_state(p, &root);

    memset(out, 0, sizeof *out);
    count_subtree(p, &root, 0, out);
}

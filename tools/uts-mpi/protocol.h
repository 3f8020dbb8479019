/*
 * Messages between the ranks of uts-mpi. Every message travels on the
 * program's own duplicate of MPI_COMM_WORLD, and MPI keeps the messages
 * from one sender to one receiver in order on it.
 *
 * | tag            | payload                          | sent by                  |
 * |----------------|----------------------------------|--------------------------|
 * | TAG_REQUEST    | none                             | a rank whose list is empty, to one victim, at most one outstanding |
 * | TAG_WORK       | 1..MAX_GIFT_NODES wire nodes     | the victim, in reply to a request |
 * | TAG_NO_WORK    | none                             | the victim, in reply to a request |
 * | TAG_TOKEN      | two int64: message count, black  | Safra's token, rank r to rank (r+1) mod size |
 * | TAG_DONE       | none                             | rank 0 to every rank, once termination is detected |
 *
 * Every request receives exactly one reply, WORK or NO_WORK. Only WORK
 * messages are the "basic messages" of the termination detection, because
 * they are the only ones that can give an idle rank work.
 */
#ifndef UTS_MPI_PROTOCOL_H
#define UTS_MPI_PROTOCOL_H

#include <stdint.h>
#include <string.h>

#include "uts.h"

enum {
    TAG_REQUEST = 1,
    TAG_WORK = 2,
    TAG_NO_WORK = 3,
    TAG_TOKEN = 4,
    TAG_DONE = 5
};

/* A node that is generated but not yet counted: its state and height. */
typedef struct uts_node {
    uts_state state;
    uint32_t height;
} uts_node;

/*
 * A node on the wire: the 20 state bytes, then the height as a 4-byte
 * big-endian integer, so hosts of either byte order can exchange nodes.
 */
#define WIRE_NODE_BYTES 24

/* Upper bound on the nodes in one WORK message (384 KiB on the wire). */
#define MAX_GIFT_NODES 16384

/* Writes node into the WIRE_NODE_BYTES at dst. */
static inline void wire_node_pack(unsigned char *dst, const uts_node *node)
{
    memcpy(dst, node->state.digest, sizeof node->state.digest);
    dst[20] = (unsigned char)(node->height >> 24);
    dst[21] = (unsigned char)(node->height >> 16);
    dst[22] = (unsigned char)(node->height >> 8);
    dst[23] = (unsigned char)node->height;
}

/* Reads the WIRE_NODE_BYTES at src into node. */
static inline void wire_node_unpack(uts_node *node, const unsigned char *src)
{
    memcpy(node->state.digest, src, sizeof node->state.digest);
    node->height = ((uint32_t)src[20] << 24) | ((uint32_t)src[21] << 16) |
                   ((uint32_t)src[22] << 8) | (uint32_t)src[23];
}

/* Safra's token: index 0 holds the message count, index 1 is 1 when black. */
#define TOKEN_COUNT 0
#define TOKEN_BLACK 1
#define TOKEN_WORDS 2

#endif

/*
 * uts-mpi: counts a UTS tree across MPI ranks, each rank running its own
 * stealpool pool.
 *
 * Work distribution. Rank 0 starts with the root. Each rank keeps a stack
 * of unexplored nodes (explore.h) and expands its top nodes on its pool in
 * bursts of bounded size. Between bursts its main thread serves MPI
 * messages. A rank whose stack is empty sends a work request to one random
 * other rank and waits for the reply. A victim with two or more nodes sends
 * the bottom half of its stack (the oldest, shallowest nodes, which tend to
 * root the largest subtrees), at most MAX_GIFT_NODES. Otherwise it replies
 * no-work, and the thief tries another victim after a short back-off sleep.
 *
 * Threads. Only the main thread calls MPI, so MPI_THREAD_FUNNELED is
 * requested and checked. The pool's workers never call MPI. MPI errors use
 * the default handler, MPI_ERRORS_ARE_FATAL, which aborts the job, so MPI
 * return codes are not checked.
 *
 * Termination detection: Safra's algorithm, as written up by Dijkstra in
 * EWD998 ("Shmuel Safra's version of termination detection", 1987).
 * - A rank is active while its stack is non-empty (bursts run to completion
 *   before the main thread looks at messages, so between bursts "active"
 *   and "stack non-empty" coincide). The basic messages are the WORK
 *   messages, the only messages that carry nodes. A passive rank becomes
 *   active only by receiving WORK, and only active ranks send WORK
 *   (requests, no-work replies and the token carry no nodes).
 * - Each rank keeps balance = WORK sent - WORK received and a colour. It
 *   turns black when it receives WORK.
 * - Rank 0, once passive, starts a round: it turns white and sends the
 *   token (count 0, white) to rank 1. A rank forwards the token to
 *   rank + 1 only while passive, adding its balance to the count, making
 *   the token black if it is black itself, and turning white.
 * - When the token is back at a passive rank 0, the run has terminated if
 *   the token and rank 0 are white and count + balance of rank 0 == 0;
 *   otherwise rank 0 starts another round.
 * Why it is correct: call the ranks the token has passed in this round
 * "visited". The sum of all balances is the number of WORK messages in
 * flight. EWD998 shows that one of these holds at every step of a round:
 * (P0) every visited rank is passive and the token's count is the sum of
 * their balances; (P1) the token's count plus the balances of the
 * unvisited ranks is positive; (P2) an unvisited rank is black; (P3) the
 * token is black. P0 breaks only when a visited rank receives WORK; that
 * message was in flight, so the total was positive and P1 held, and a
 * receive by a visited rank changes neither the count nor an unvisited
 * balance. P1 breaks only when an unvisited rank receives WORK, which
 * turns it black (P2). P2 breaks only when that rank forwards the token,
 * which turns the token black (P3), and P3 lasts until the round ends.
 * When the token is back at rank 0, rank 0 is the only unvisited rank, so a
 * white token, a white rank 0 and count + balance of rank 0 == 0 rule out
 * P1, P2 and P3. P0 then holds: every rank is passive and no WORK is in
 * flight, and from that state no rank can become active again.
 * Rank 0 then sends DONE to every rank. Requests and no-work replies may
 * still be in flight, so each rank waits for the reply to its own last
 * request, then enters MPI_Ibarrier and keeps answering requests (with
 * no-work) until the barrier completes. After it, every sent message has
 * been received, so MPI_Finalize sees no unmatched message.
 *
 * Not handled: the failure of a rank or a host. Any error aborts the whole
 * job through MPI_Abort or MPI's default error handler.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>
#include <stealpool/pool.h>

#include "explore.h"
#include "protocol.h"
#include "uts.h"

/* Exit codes. */
enum { EXIT_MATCH = 0, EXIT_MISMATCH = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

/* Defaults of the burst shape: at about 0.3 us per node, 4096 nodes keep
 * one worker busy for about 1.2 ms between two polls of MPI. */
#define DEFAULT_BURST_NODES 4096
#define DEFAULT_ITEMS_PER_WORKER 256

/* Back-off of a rank with nothing to do: 10 us doubling to 1 ms. */
#define IDLE_SLEEP_MIN_NS 10000L
#define IDLE_SLEEP_MAX_NS 1000000L

typedef struct options {
    uts_params params;
    const uts_named_tree *named; /* --tree, or NULL */
    bool has_expect;
    uint64_t expect_nodes;
    uint64_t expect_leaves;
    unsigned workers; /* 0: SP_WORKERS or one per CPU */
    size_t burst_nodes; /* per worker */
    size_t items_per_worker;
    bool stats;
} options;

/* Per-rank figures, gathered to rank 0 for --stats. */
enum {
    STAT_NODES,
    STAT_BURSTS,
    STAT_REQUESTS_SENT,
    STAT_NO_WORK_RECEIVED,
    STAT_WORK_SENT,
    STAT_NODES_SENT,
    STAT_COUNT
};

typedef struct pending_send {
    MPI_Request request;
    void *buffer; /* freed once the send completes; NULL for empty messages */
} pending_send;

/* State of one rank; only the main thread touches it. */
typedef struct rank_state {
    MPI_Comm comm;
    int rank;
    int size;

    node_list list;
    uts_counts counts;
    unsigned char *receive_buffer; /* MAX_GIFT_NODES wire nodes */

    /* Safra's termination detection. */
    int64_t balance; /* WORK messages sent minus received */
    bool black;
    bool has_token;
    bool round_started; /* rank 0: the token in hand came back from a round */
    int64_t token[TOKEN_WORDS];
    bool done;

    bool request_pending;
    uint64_t random_state;

    pending_send *sends;
    size_t send_count;
    size_t send_capacity;

    uint64_t stats[STAT_COUNT];
} rank_state;

static void fail(rank_state *s, const char *operation, int rc)
{
    fprintf(stderr, "uts-mpi: rank %d: %s failed: %s\n", s->rank, operation, strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
}

static void protocol_error(rank_state *s, const char *problem, int source)
{
    fprintf(stderr, "uts-mpi: rank %d: protocol error: %s (from rank %d)\n", s->rank, problem,
            source);
    MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
}

/* ---- sending ---- */

/* Starts a non-blocking send that owns buffer (NULL when count is 0). */
static void send_message(rank_state *s, int destination, int tag, void *buffer, int count,
                         MPI_Datatype type)
{
    if (s->send_count == s->send_capacity) {
        size_t capacity = s->send_capacity == 0 ? 16 : s->send_capacity * 2;
        pending_send *sends = realloc(s->sends, capacity * sizeof *sends);
        if (sends == NULL)
            fail(s, "growing the send list", ENOMEM);
        s->sends = sends;
        s->send_capacity = capacity;
    }

    pending_send *send = &s->sends[s->send_count++];
    send->buffer = buffer;
    MPI_Isend(buffer, count, type, destination, tag, s->comm, &send->request);
}

/* Frees the buffers of the sends that have completed. */
static void progress_sends(rank_state *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->send_count; i++) {
        int completed = 0;
        MPI_Test(&s->sends[i].request, &completed, MPI_STATUS_IGNORE);
        if (completed)
            free(s->sends[i].buffer);
        else
            s->sends[kept++] = s->sends[i];
    }
    s->send_count = kept;
}

static void wait_sends(rank_state *s)
{
    for (size_t i = 0; i < s->send_count; i++) {
        MPI_Wait(&s->sends[i].request, MPI_STATUS_IGNORE);
        free(s->sends[i].buffer);
    }
    s->send_count = 0;
}

static void send_token(rank_state *s)
{
    int64_t *token = malloc(sizeof s->token);
    if (token == NULL)
        fail(s, "sending the token", ENOMEM);
    memcpy(token, s->token, sizeof s->token);
    s->has_token = false;
    send_message(s, (s->rank + 1) % s->size, TAG_TOKEN, token, TOKEN_WORDS, MPI_INT64_T);
}

/* Returns a random rank other than s->rank (size >= 2). */
static int pick_victim(rank_state *s)
{
    /* xorshift64 */
    uint64_t x = s->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->random_state = x;

    int victim = (int)(x % (uint64_t)(s->size - 1));
    return victim >= s->rank ? victim + 1 : victim;
}

static void send_request(rank_state *s)
{
    s->request_pending = true;
    s->stats[STAT_REQUESTS_SENT]++;
    send_message(s, pick_victim(s), TAG_REQUEST, NULL, 0, MPI_BYTE);
}

/* ---- receiving ---- */

/* Replies to a work request with the bottom half of the stack, or no-work. */
static void answer_request(rank_state *s, int thief)
{
    size_t gift = s->list.count / 2;
    if (gift > MAX_GIFT_NODES)
        gift = MAX_GIFT_NODES;
    if (gift == 0 || s->done) {
        send_message(s, thief, TAG_NO_WORK, NULL, 0, MPI_BYTE);
        return;
    }

    unsigned char *buffer = malloc(gift * WIRE_NODE_BYTES);
    if (buffer == NULL)
        fail(s, "packing a work reply", ENOMEM);
    for (size_t i = 0; i < gift; i++)
        wire_node_pack(buffer + i * WIRE_NODE_BYTES, &s->list.nodes[i]);
    node_list_drop_bottom(&s->list, gift);

    s->balance++;
    s->stats[STAT_WORK_SENT]++;
    s->stats[STAT_NODES_SENT] += gift;
    send_message(s, thief, TAG_WORK, buffer, (int)(gift * WIRE_NODE_BYTES), MPI_BYTE);
}

static void receive_work(rank_state *s, const MPI_Status *status)
{
    int bytes = 0;
    MPI_Get_count(status, MPI_BYTE, &bytes);
    if (bytes <= 0 || bytes % WIRE_NODE_BYTES != 0 ||
        bytes / WIRE_NODE_BYTES > MAX_GIFT_NODES)
        protocol_error(s, "work message of an invalid size", status->MPI_SOURCE);
    MPI_Recv(s->receive_buffer, bytes, MPI_BYTE, status->MPI_SOURCE, TAG_WORK, s->comm,
             MPI_STATUS_IGNORE);

    if (s->done)
        protocol_error(s, "work received after termination", status->MPI_SOURCE);
    if (!s->request_pending)
        protocol_error(s, "work received without a request", status->MPI_SOURCE);

    size_t count = (size_t)bytes / WIRE_NODE_BYTES;
    int rc = node_list_reserve(&s->list, count);
    if (rc != 0)
        fail(s, "storing received work", rc);
    for (size_t i = 0; i < count; i++)
        wire_node_unpack(&s->list.nodes[s->list.count++], s->receive_buffer + i * WIRE_NODE_BYTES);

    s->balance--;
    s->black = true;
    s->request_pending = false;
}

static void receive_token(rank_state *s, int source)
{
    MPI_Recv(s->token, TOKEN_WORDS, MPI_INT64_T, source, TAG_TOKEN, s->comm,
             MPI_STATUS_IGNORE);
    if (s->has_token || s->done)
        protocol_error(s, "unexpected token", source);
    s->has_token = true;
}

/* Receives one message of any kind and acts on it. */
static void handle_message(rank_state *s, const MPI_Status *status)
{
    int source = status->MPI_SOURCE;

    switch (status->MPI_TAG) {
    case TAG_REQUEST:
        MPI_Recv(NULL, 0, MPI_BYTE, source, TAG_REQUEST, s->comm, MPI_STATUS_IGNORE);
        answer_request(s, source);
        break;
    case TAG_WORK:
        receive_work(s, status);
        break;
    case TAG_NO_WORK:
        MPI_Recv(NULL, 0, MPI_BYTE, source, TAG_NO_WORK, s->comm, MPI_STATUS_IGNORE);
        if (!s->request_pending)
            protocol_error(s, "no-work reply without a request", source);
        s->request_pending = false;
        s->stats[STAT_NO_WORK_RECEIVED]++;
        break;
    case TAG_TOKEN:
        receive_token(s, source);
        break;
    case TAG_DONE:
        MPI_Recv(NULL, 0, MPI_BYTE, source, TAG_DONE, s->comm, MPI_STATUS_IGNORE);
        if (s->done)
            protocol_error(s, "second termination message", source);
        if (s->list.count != 0)
            protocol_error(s, "termination announced while this rank has work", source);
        s->done = true;
        break;
    default:
        protocol_error(s, "unknown message tag", source);
    }
}

/* Handles every message that has arrived; returns how many there were. */
static unsigned poll_messages(rank_state *s)
{
    unsigned handled = 0;
    for (;;) {
        int arrived = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, s->comm, &arrived, &status);
        if (!arrived)
            return handled;
        handle_message(s, &status);
        handled++;
    }
}

/* ---- termination ---- */

static void announce_termination(rank_state *s)
{
    s->done = true;
    for (int r = 1; r < s->size; r++)
        send_message(s, r, TAG_DONE, NULL, 0, MPI_BYTE);
}

/* Moves the token on; call only while passive and holding it. */
static void pass_token(rank_state *s)
{
    if (s->rank == 0) {
        if (s->round_started && !s->token[TOKEN_BLACK] && !s->black &&
            s->token[TOKEN_COUNT] + s->balance == 0) {
            announce_termination(s);
            return;
        }
        s->token[TOKEN_COUNT] = 0;
        s->token[TOKEN_BLACK] = 0;
        s->round_started = true;
    } else {
        s->token[TOKEN_COUNT] += s->balance;
        if (s->black)
            s->token[TOKEN_BLACK] = 1;
    }
    s->black = false;
    send_token(s);
}

static void idle_sleep(unsigned *idle_rounds)
{
    long ns = IDLE_SLEEP_MIN_NS;
    for (unsigned i = 0; i < *idle_rounds && ns < IDLE_SLEEP_MAX_NS; i++)
        ns *= 2;
    if (ns > IDLE_SLEEP_MAX_NS)
        ns = IDLE_SLEEP_MAX_NS;
    (*idle_rounds)++;

    struct timespec pause = {0, ns};
    nanosleep(&pause, NULL);
}

/* Waits until no request of this rank or to this rank is outstanding. */
static void drain(rank_state *s)
{
    unsigned idle_rounds = 0;
    while (s->request_pending) {
        progress_sends(s);
        if (poll_messages(s) == 0)
            idle_sleep(&idle_rounds);
    }

    MPI_Request barrier;
    MPI_Ibarrier(s->comm, &barrier);
    for (;;) {
        int completed = 0;
        MPI_Test(&barrier, &completed, MPI_STATUS_IGNORE);
        if (completed)
            break;
        progress_sends(s);
        if (poll_messages(s) == 0)
            idle_sleep(&idle_rounds);
    }
    wait_sends(s);
}

/* Runs this rank's share of the search until termination. */
static void run_rank(rank_state *s, burst *b)
{
    unsigned idle_rounds = 0;

    while (!s->done) {
        progress_sends(s);
        unsigned handled = poll_messages(s);
        if (s->done)
            break;

        if (s->list.count > 0) {
            int rc = burst_run(b, &s->list, &s->counts);
            if (rc != 0)
                fail(s, "exploring nodes", rc);
            s->stats[STAT_BURSTS]++;
            idle_rounds = 0;
            continue;
        }

        if (s->size == 1)
            break;
        if (s->has_token)
            pass_token(s);
        if (!s->done && !s->request_pending)
            send_request(s);

        if (handled == 0)
            idle_sleep(&idle_rounds);
        else
            idle_rounds = 0;
    }
    drain(s);
}

/* ---- options ---- */

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: uts-mpi [--tree NAME] [UTS options] [--expect NODES,LEAVES]\n"
            "               [--workers N] [--burst-nodes N] [--items-per-worker N] [--stats]\n"
            "Counts a UTS tree over the MPI ranks; start it with mpirun.\n"
            "  --tree NAME             start from a known tree: T1, T3, T1L or T3L\n"
            "  -t -a -d -b -q -m -r V  UTS tree options (type, shape, depth limit,\n"
            "                          branching, non-leaf probability and children, seed)\n"
            "  --expect NODES,LEAVES   exit 1 unless the counts are these\n"
            "  --workers N             stealpool workers per rank (default: SP_WORKERS,\n"
            "                          else one per CPU of the rank's affinity mask)\n"
            "  --burst-nodes N         nodes a rank counts per worker between two polls\n"
            "                          of MPI, at most (%d)\n"
            "  --items-per-worker N    nodes taken from the rank's list per worker and\n"
            "                          burst, at most (%d)\n"
            "  --stats                 print per-rank counters\n"
            "Exit status: 0 counts match (or nothing to check), 1 mismatch, 2 usage error,\n"
            "3 runtime failure.\n",
            DEFAULT_BURST_NODES, DEFAULT_ITEMS_PER_WORKER);
}

/* Parses the whole of text as an unsigned integer in [min, max]. */
static bool parse_size(const char *text, unsigned long long min, unsigned long long max,
                       unsigned long long *out)
{
    char *end;
    errno = 0;
    if (text[0] == '-' || text[0] == '+')
        return false;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

static bool parse_expect(const char *text, options *opt)
{
    char buf[64];
    if (strlen(text) >= sizeof buf)
        return false;
    strcpy(buf, text);

    char *comma = strchr(buf, ',');
    if (comma == NULL)
        return false;
    *comma = '\0';

    unsigned long long nodes, leaves;
    if (!parse_size(buf, 1, UINT64_MAX, &nodes) || !parse_size(comma + 1, 0, UINT64_MAX, &leaves))
        return false;
    opt->expect_nodes = nodes;
    opt->expect_leaves = leaves;
    opt->has_expect = true;
    return true;
}

/* Appends "-x value " to the UTS option string. */
static bool append_uts_option(char *uts_args, size_t size, const char *flag, const char *value)
{
    size_t used = strlen(uts_args);
    int written = snprintf(uts_args + used, size - used, "%s %s ", flag, value);
    return written > 0 && (size_t)written < size - used;
}

/*
 * Parses the command line into opt. Returns 0, or EXIT_USAGE after writing
 * the reason to err; -1 for --help.
 */
static int parse_options(int argc, char **argv, options *opt, char *err, size_t err_size)
{
    char uts_args[512] = "";
    memset(opt, 0, sizeof *opt);
    opt->burst_nodes = DEFAULT_BURST_NODES;
    opt->items_per_worker = DEFAULT_ITEMS_PER_WORKER;
    uts_params_init(&opt->params);

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return -1;
        if (strcmp(arg, "--stats") == 0) {
            opt->stats = true;
            continue;
        }

        bool uts_option = arg[0] == '-' && arg[1] != '-' && arg[1] != '\0' && arg[2] == '\0';
        if (!uts_option && strcmp(arg, "--tree") != 0 && strcmp(arg, "--expect") != 0 &&
            strcmp(arg, "--workers") != 0 && strcmp(arg, "--burst-nodes") != 0 &&
            strcmp(arg, "--items-per-worker") != 0) {
            snprintf(err, err_size, "unknown option '%s'", arg);
            return EXIT_USAGE;
        }

        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) {
            snprintf(err, err_size, "missing value after %s", arg);
            return EXIT_USAGE;
        }
        i++;

        unsigned long long number = 0;
        if (strcmp(arg, "--tree") == 0) {
            opt->named = uts_tree_find(value);
            if (opt->named == NULL) {
                snprintf(err, err_size, "unknown tree '%s' (known: T1, T3, T1L, T3L)", value);
                return EXIT_USAGE;
            }
        } else if (strcmp(arg, "--expect") == 0) {
            if (!parse_expect(value, opt)) {
                snprintf(err, err_size, "invalid --expect '%s' (expected NODES,LEAVES)", value);
                return EXIT_USAGE;
            }
        } else if (strcmp(arg, "--workers") == 0) {
            if (!parse_size(value, 1, 4096, &number)) {
                snprintf(err, err_size, "invalid --workers '%s' (expected 1..4096)", value);
                return EXIT_USAGE;
            }
            opt->workers = (unsigned)number;
        } else if (strcmp(arg, "--burst-nodes") == 0) {
            if (!parse_size(value, 1, 1u << 24, &number)) {
                snprintf(err, err_size, "invalid --burst-nodes '%s' (expected 1..16777216)",
                         value);
                return EXIT_USAGE;
            }
            opt->burst_nodes = (size_t)number;
        } else if (strcmp(arg, "--items-per-worker") == 0) {
            if (!parse_size(value, 1, 4096, &number)) {
                snprintf(err, err_size, "invalid --items-per-worker '%s' (expected 1..4096)",
                         value);
                return EXIT_USAGE;
            }
            opt->items_per_worker = (size_t)number;
        } else if (!append_uts_option(uts_args, sizeof uts_args, arg, value)) {
            snprintf(err, err_size, "too many UTS options");
            return EXIT_USAGE;
        }
    }

    /* The named tree first, so that UTS options given with it override it. */
    if (opt->named != NULL && uts_params_parse(&opt->params, opt->named->args, err, err_size) != 0)
        return EXIT_USAGE;
    if (uts_params_parse(&opt->params, uts_args, err, err_size) != 0)
        return EXIT_USAGE;
    return 0;
}

/* Returns the known tree whose parameters are p, or NULL. */
static const uts_named_tree *find_known_tree(const uts_params *p)
{
    char wanted[256];
    uts_params_format(p, wanted, sizeof wanted);

    size_t count = 0;
    const uts_named_tree *trees = uts_trees(&count);
    for (size_t i = 0; i < count; i++) {
        uts_params known;
        uts_params_init(&known);
        if (uts_params_parse(&known, trees[i].args, NULL, 0) != 0)
            continue;
        char text[256];
        uts_params_format(&known, text, sizeof text);
        if (strcmp(text, wanted) == 0)
            return &trees[i];
    }
    return NULL;
}

/* ---- pool and placement ---- */

/*
 * Warns, from the first rank of each host, when stealpool would pin workers
 * of two ranks on that host to the same CPU. That happens with SP_PIN=cores
 * when MPI binds no rank (every rank's mask is the whole machine) or binds ranks
 * to overlapping CPU sets.
 */
static void warn_shared_cpus(MPI_Comm comm, const sp_config *cfg)
{
    enum { MASK_BYTES = 1024 / 8 };
    unsigned char used[MASK_BYTES] = {0};

    sp_plan plan;
    int cpus[4096];
    if (sp_config_plan(cfg, &plan, cpus, 4096) != 0)
        return;
    unsigned pinned = plan.workers < 4096 ? plan.workers : 4096;
    for (unsigned i = 0; i < pinned; i++)
        if (cpus[i] >= 0 && cpus[i] < MASK_BYTES * 8)
            used[cpus[i] / 8] |= (unsigned char)(1u << (cpus[i] % 8));

    MPI_Comm host;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host);
    int host_rank = 0, host_size = 1;
    MPI_Comm_rank(host, &host_rank);
    MPI_Comm_size(host, &host_size);

    unsigned char *all = NULL;
    if (host_rank == 0) {
        all = malloc((size_t)host_size * MASK_BYTES);
        if (all == NULL) {
            fprintf(stderr, "uts-mpi: gathering the worker CPUs: %s\n", strerror(ENOMEM));
            MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
        }
    }
    MPI_Gather(used, MASK_BYTES, MPI_BYTE, all, MASK_BYTES, MPI_BYTE, 0, host);

    if (host_rank == 0) {
        unsigned char seen[MASK_BYTES] = {0};
        bool shared = false;
        for (int r = 0; r < host_size; r++)
            for (int j = 0; j < MASK_BYTES; j++) {
                shared |= (seen[j] & all[(size_t)r * MASK_BYTES + j]) != 0;
                seen[j] |= all[(size_t)r * MASK_BYTES + j];
            }
        if (shared) {
            char name[MPI_MAX_PROCESSOR_NAME] = "";
            int length = 0;
            MPI_Get_processor_name(name, &length);
            fprintf(stderr,
                    "uts-mpi: warning: on host %s, workers of %d ranks are pinned to the same "
                    "CPUs; bind ranks to disjoint CPUs (mpirun --map-by ...:PE=N --bind-to core) "
                    "or set SP_PIN=none\n",
                    name, host_size);
        }
        free(all);
    }
    MPI_Comm_free(&host);
}

static sp_pool *create_pool(MPI_Comm comm, const options *opt, int rank)
{
    sp_config cfg;
    sp_config_init(&cfg);
    sp_config_from_env(&cfg); /* an invalid variable is logged and keeps its default */
    if (opt->workers != 0)
        cfg.workers = opt->workers;

    warn_shared_cpus(comm, &cfg);

    sp_pool *pool = NULL;
    int rc = sp_pool_create(&pool, &cfg);
    if (rc != 0) {
        fprintf(stderr, "uts-mpi: rank %d: sp_pool_create failed: %s\n", rank, strerror(rc));
        MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
    }
    return pool;
}

/* ---- results ---- */

static void print_stats(rank_state *s)
{
    uint64_t *all = NULL;
    if (s->rank == 0) {
        all = malloc((size_t)s->size * STAT_COUNT * sizeof *all);
        if (all == NULL)
            fail(s, "gathering the statistics", ENOMEM);
    }
    s->stats[STAT_NODES] = s->counts.nodes;
    MPI_Gather(s->stats, STAT_COUNT, MPI_UINT64_T, all, STAT_COUNT, MPI_UINT64_T, 0, s->comm);
    if (s->rank != 0)
        return;

    printf("%6s %12s %8s %9s %8s %10s %11s\n", "rank", "nodes", "bursts", "requests",
           "no-work", "gifts sent", "nodes sent");
    for (int r = 0; r < s->size; r++) {
        const uint64_t *v = all + (size_t)r * STAT_COUNT;
        printf("%6d %12" PRIu64 " %8" PRIu64 " %9" PRIu64 " %8" PRIu64 " %10" PRIu64
               " %11" PRIu64 "\n",
               r, v[STAT_NODES], v[STAT_BURSTS], v[STAT_REQUESTS_SENT],
               v[STAT_NO_WORK_RECEIVED], v[STAT_WORK_SENT], v[STAT_NODES_SENT]);
    }
    free(all);
}

/* Prints the totals on rank 0 and returns the exit status of the check. */
static int report(const options *opt, const uts_counts *total, double seconds, int ranks,
                  unsigned workers)
{
    char args[256];
    uts_params_format(&opt->params, args, sizeof args);
    const uts_named_tree *known = find_known_tree(&opt->params);

    printf("tree: %s%s%s%s\n", args, known ? " (" : "", known ? known->name : "",
           known ? ")" : "");
    printf("nodes: %" PRIu64 "  leaves: %" PRIu64 "  max depth: %u\n", total->nodes,
           total->leaves, (unsigned)total->max_depth);
    printf("time: %.3f s  (%.2f million nodes/s)\n", seconds,
           seconds > 0 ? (double)total->nodes / seconds / 1e6 : 0.0);
    printf("ranks: %d  workers per rank: %u\n", ranks, workers);

    int status = EXIT_MATCH;
    if (known != NULL) {
        bool match = total->nodes == known->expected.nodes &&
                     total->leaves == known->expected.leaves &&
                     total->max_depth == known->expected.max_depth;
        printf("check: %s: %s (expected nodes %" PRIu64 ", leaves %" PRIu64 ", depth %u)\n",
               known->name, match ? "match" : "MISMATCH", known->expected.nodes,
               known->expected.leaves, (unsigned)known->expected.max_depth);
        if (!match)
            status = EXIT_MISMATCH;
    }
    if (opt->has_expect) {
        bool match = total->nodes == opt->expect_nodes && total->leaves == opt->expect_leaves;
        printf("check: --expect: %s (expected nodes %" PRIu64 ", leaves %" PRIu64 ")\n",
               match ? "match" : "MISMATCH", opt->expect_nodes, opt->expect_leaves);
        if (!match)
            status = EXIT_MISMATCH;
    }
    fflush(stdout);
    return status;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);

    rank_state s;
    memset(&s, 0, sizeof s);
    MPI_Comm_dup(MPI_COMM_WORLD, &s.comm);
    MPI_Comm_rank(s.comm, &s.rank);
    MPI_Comm_size(s.comm, &s.size);

    /* The pool's workers run beside the main thread, so a process that
     * calls MPI must be allowed other threads: FUNNELED or more. */
    if (provided < MPI_THREAD_FUNNELED) {
        if (s.rank == 0)
            fprintf(stderr, "uts-mpi: the MPI library provides thread level %d, below "
                            "MPI_THREAD_FUNNELED\n", provided);
        MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
    }

    options opt;
    char err[512] = "";
    int rc = parse_options(argc, argv, &opt, err, sizeof err);
    if (rc != 0) {
        if (s.rank == 0) {
            if (rc < 0) {
                print_usage(stdout);
            } else {
                fprintf(stderr, "uts-mpi: %s\n", err);
                print_usage(stderr);
            }
        }
        MPI_Comm_free(&s.comm);
        MPI_Finalize();
        return rc < 0 ? EXIT_MATCH : EXIT_USAGE;
    }

    sp_pool *pool = create_pool(s.comm, &opt, s.rank);
    unsigned workers = sp_pool_workers(pool);

    burst b;
    rc = burst_init(&b, &opt.params, pool, workers * opt.burst_nodes,
                    workers * opt.items_per_worker);
    if (rc != 0)
        fail(&s, "allocating the burst items", rc);
    s.receive_buffer = malloc((size_t)MAX_GIFT_NODES * WIRE_NODE_BYTES);
    if (s.receive_buffer == NULL)
        fail(&s, "allocating the receive buffer", ENOMEM);
    s.random_state = 0x9e3779b97f4a7c15ull * (uint64_t)(s.rank + 1);
    s.has_token = s.rank == 0;

    MPI_Barrier(s.comm);
    double start = MPI_Wtime();

    if (s.rank == 0) {
        uts_node root = {.height = 0};
        uts_root_state(&opt.params, &root.state);
        rc = node_list_push(&s.list, &root);
        if (rc != 0)
            fail(&s, "storing the root", rc);
    }
    run_rank(&s, &b);

    /* Counts are exact only once every rank is done. */
    uint64_t local[2] = {s.counts.nodes, s.counts.leaves};
    uint64_t total[2] = {0, 0};
    uint32_t depth = 0;
    MPI_Reduce(local, total, 2, MPI_UINT64_T, MPI_SUM, 0, s.comm);
    MPI_Reduce(&s.counts.max_depth, &depth, 1, MPI_UINT32_T, MPI_MAX, 0, s.comm);
    double seconds = MPI_Wtime() - start;

    int status = EXIT_MATCH;
    if (s.rank == 0) {
        uts_counts counts = {total[0], total[1], depth};
        status = report(&opt, &counts, seconds, s.size, workers);
    }
    if (opt.stats)
        print_stats(&s);
    MPI_Bcast(&status, 1, MPI_INT, 0, s.comm);

    burst_destroy(&b);
    sp_pool_destroy(pool);
    node_list_free(&s.list);
    free(s.receive_buffer);
    free(s.sends);
    MPI_Comm_free(&s.comm);
    MPI_Finalize();
    return status;
}

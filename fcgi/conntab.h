/* conntab — the pool's table of FastCGI connections, shared by the master and its workers.
 *
 * The master accepts every connection and keeps its own copy of the descriptor for as long as
 * the connection lives; the worker that owns a connection holds another copy (fdpass.h). The
 * table says, per connection, who owns it and whether a request is being served on it, so:
 *   - the master can move a connection nginx sent a request on from a worker busy with another
 *     request to an idle worker (no request waits behind another while a worker is idle);
 *   - when a worker dies, the master knows which of its connections were mid-request (shut
 *     down: nginx sees the close at once and retries) and which were idle between requests
 *     (given to another worker: nothing lost, nothing for nginx to retry).
 * A connection is moved only between requests: a worker marks it SERVING before it reads the
 * first byte of a request and back to OWNED after libfcgi has finished the request and freed
 * its buffers, so no moved connection has bytes sitting in a worker's buffer.
 *
 * Each connection is one 64-bit word: a generation (bumped when the entry is reused, so a worker
 * never takes a new connection for the one the entry held before), a state and the owning
 * worker slot. Every change is a compare-and-swap of the whole word: a worker starting a request
 * on a connection and the master moving it away cannot both win. Per worker slot, a claim word
 * does the same for "this worker starts a request" against "the master reserves this idle
 * worker for a connection it is about to send".
 *
 * Ownership: one MAP_SHARED mapping, made by the master before it forks and inherited by every
 * worker; ctab_destroy() unmaps it. Nothing in it is a pointer. */
#ifndef POOL_CONNTAB_H
#define POOL_CONNTAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "scoreboard.h"

#define CTAB_MAX 1024 /* connections the pool holds at once */

typedef enum {
    CT_UNUSED = 0, /* no connection */
    CT_FREE,       /* held by the master only, waiting for a worker */
    CT_CLOSED,     /* its worker closed it; the master closes its copy and reuses the entry */
    CT_OWNED,      /* a worker's, idle between requests */
    CT_SERVING,    /* a worker's, a request being read, run or answered on it */
} ct_state;

typedef enum {
    CLAIM_OFF = 0,  /* no worker, or one that takes no request (starting, retiring) */
    CLAIM_IDLE,     /* waiting for a request */
    CLAIM_BUSY,     /* serving one (set by the worker itself) */
    CLAIM_RESERVED, /* the master is sending it a connection: it reads its channel first */
} ct_claim;

typedef struct {
    _Atomic uint64_t conn[CTAB_MAX];
    _Atomic int claim[SB_MAX_WORKERS];
    _Atomic int stopping; /* the pool is stopping: workers drain instead of handing back */
} ctab;

/* A shared mapping, every entry unused and every claim off; NULL on failure. */
ctab *ctab_create(void);
void ctab_destroy(ctab *t);

static inline uint64_t ct_word(uint32_t gen, ct_state state, int slot)
{
    return (uint64_t)gen << 32 | (uint64_t)state << 16 | (uint64_t)(uint16_t)slot;
}
static inline uint32_t ct_gen(uint64_t w)
{
    return (uint32_t)(w >> 32);
}
static inline ct_state ct_state_of(uint64_t w)
{
    return (ct_state)((w >> 16) & 0xffff);
}
static inline int ct_slot(uint64_t w)
{
    return (int)(w & 0xffff);
}

static inline uint64_t ct_load(ctab *t, int id)
{
    return atomic_load(&t->conn[id]);
}
static inline void ct_store(ctab *t, int id, uint64_t w)
{
    atomic_store(&t->conn[id], w);
}
/* Replaces EXPECT with W; false (and nothing changed) when the word was not EXPECT. */
static inline bool ct_swap(ctab *t, int id, uint64_t expect, uint64_t w)
{
    return atomic_compare_exchange_strong(&t->conn[id], &expect, w);
}

static inline ct_claim ct_claim_of(ctab *t, int slot)
{
    return (ct_claim)atomic_load(&t->claim[slot]);
}
static inline void ct_claim_set(ctab *t, int slot, ct_claim c)
{
    atomic_store(&t->claim[slot], c);
}
static inline bool ct_claim_swap(ctab *t, int slot, ct_claim from, ct_claim to)
{
    int expect = from;
    return atomic_compare_exchange_strong(&t->claim[slot], &expect, (int)to);
}

#endif

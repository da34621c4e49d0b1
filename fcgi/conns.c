/* conns — see conns.h.
 *
 * Entries: the master alone moves an entry out of UNUSED, FREE and CLOSED, and moves a worker's
 * OWNED entry only by compare-and-swap; a worker moves its own entries (OWNED <-> SERVING,
 * SERVING -> CLOSED, OWNED -> FREE when it hands one back). A worker that is dead moves nothing,
 * so conns_worker_gone() stores plainly. */
#include "conns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clk.h"
#include "fdpass.h"
#include "log.h"

#define ACCEPT_BATCH 64     /* connections accepted per wake-up, so signals are not starved */
#define ACCEPT_PAUSE_MS 100 /* out of descriptors: wait this long before accepting again */
#define NONE (-1)

struct conns {
    ctab *t;
    scoreboard *sb;
    int listen_fd; /* -1 once stopped */
    bool stopping;
    int64_t accept_after_ms;
    int cursor; /* where the search for an unused entry starts */
    int fd[CTAB_MAX];
    int chan[SB_MAX_WORKERS];
    bool takes[SB_MAX_WORKERS];   /* it gets new connections (not retiring) */
    int owned[SB_MAX_WORKERS];    /* entries each worker owns, recounted by conns_watch() */
    int watch_id[CONNS_POLL_MAX]; /* what each entry conns_watch() filled is: NONE = listener */
};

conns *conns_new(int listen_fd, ctab *t, scoreboard *sb)
{
    conns *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t = t;
    c->sb = sb;
    c->listen_fd = listen_fd;
    for (int i = 0; i < CTAB_MAX; i++)
        c->fd[i] = NONE;
    for (int i = 0; i < SB_MAX_WORKERS; i++)
        c->chan[i] = NONE;
    return c;
}

/* Ends entry ID for good: nginx sees the close at once (the workers' copies may live on a
 * moment, so close() alone would not do it). */
static void shut(conns *c, int id)
{
    uint64_t w = ct_load(c->t, id);
    shutdown(c->fd[id], SHUT_RDWR);
    close(c->fd[id]);
    c->fd[id] = NONE;
    ct_store(c->t, id, ct_word(ct_gen(w), CT_UNUSED, 0));
}

void conns_free(conns *c)
{
    if (!c)
        return;
    for (int i = 0; i < CTAB_MAX; i++)
        if (c->fd[i] != NONE)
            shut(c, i);
    for (int i = 0; i < SB_MAX_WORKERS; i++)
        if (c->chan[i] != NONE)
            close(c->chan[i]);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    free(c);
}

void conns_close_inherited(const conns *c)
{
    for (int i = 0; i < CTAB_MAX; i++)
        if (c->fd[i] != NONE)
            close(c->fd[i]);
    for (int i = 0; i < SB_MAX_WORKERS; i++)
        if (c->chan[i] != NONE)
            close(c->chan[i]);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
}

void conns_worker_started(conns *c, int slot, int chan)
{
    c->chan[slot] = chan;
    c->takes[slot] = true;
    c->owned[slot] = 0;
}

void conns_worker_retiring(conns *c, int slot)
{
    c->takes[slot] = false;
}

void conns_worker_gone(conns *c, int slot)
{
    if (c->chan[slot] != NONE)
        close(c->chan[slot]);
    c->chan[slot] = NONE;
    c->takes[slot] = false;
    c->owned[slot] = 0;
    ct_claim_set(c->t, slot, CLAIM_OFF);
    for (int id = 0; id < CTAB_MAX; id++) {
        uint64_t w = ct_load(c->t, id);
        ct_state st = ct_state_of(w);
        if ((st != CT_OWNED && st != CT_SERVING) || ct_slot(w) != slot)
            continue;
        if (st == CT_SERVING)
            shut(c, id); /* mid-request: what was read died with the worker */
        else
            ct_store(c->t, id, ct_word(ct_gen(w), CT_FREE, 0)); /* idle: another worker's */
    }
}

/* A worker conns may give a connection to: forked, not retiring, and started. */
static bool ready(const conns *c, int slot)
{
    int st = atomic_load(&c->sb->slots[slot].state);
    return c->chan[slot] != NONE && c->takes[slot] && (st == SB_IDLE || st == SB_BUSY);
}

/* Better for a new connection: one running the configuration in force, then one that holds
 * fewer. */
static bool better(const conns *c, int a, int b)
{
    uint32_t gen = atomic_load(&c->sb->generation);
    bool ca = atomic_load(&c->sb->slots[a].generation) == gen;
    bool cb = atomic_load(&c->sb->slots[b].generation) == gen;
    return ca != cb ? ca : c->owned[a] < c->owned[b];
}

/* An idle worker other than EXCEPT, reserved (CLAIM_IDLE -> CLAIM_RESERVED) for a connection
 * about to be sent to it; NONE when none could be reserved. */
static int reserve_idle(conns *c, int except)
{
    bool tried[SB_MAX_WORKERS] = {false};
    for (;;) {
        int best = NONE;
        for (int s = 0; s < c->sb->n_slots; s++)
            if (s != except && !tried[s] && ready(c, s) && ct_claim_of(c->t, s) == CLAIM_IDLE &&
                (best == NONE || better(c, s, best)))
                best = s;
        if (best == NONE)
            return NONE;
        if (ct_claim_swap(c->t, best, CLAIM_IDLE, CLAIM_RESERVED))
            return best;
        tried[best] = true; /* it started a request meanwhile */
    }
}

static int least_loaded(const conns *c)
{
    int best = NONE;
    for (int s = 0; s < c->sb->n_slots; s++)
        if (ready(c, s) && (best == NONE || better(c, s, best)))
            best = s;
    return best;
}

/* Entry ID is now SLOT's (its word already says so): sends our copy. On failure the entry is
 * the master's again and waits for the next tick. */
static void send_to(conns *c, int id, int slot, bool reserved)
{
    uint64_t w = ct_load(c->t, id);
    fdpass_msg msg = {.id = (uint32_t)id, .gen = ct_gen(w), .reserved = reserved};
    c->owned[slot]++;
    if (fdpass_send(c->chan[slot], &msg, c->fd[id]) == 0)
        return;
    log_warning("cannot hand a connection to worker slot %d: %s", slot, strerror(errno));
    c->owned[slot]--;
    ct_swap(c->t, id, w, ct_word(ct_gen(w), CT_FREE, 0));
    if (reserved)
        ct_claim_swap(c->t, slot, CLAIM_RESERVED, CLAIM_IDLE);
}

/* Gives the FREE entry ID to a worker: an idle one if any, else the least loaded. */
static void give(conns *c, int id)
{
    int slot = reserve_idle(c, NONE);
    bool reserved = slot != NONE;
    if (!reserved)
        slot = least_loaded(c);
    if (slot == NONE)
        return; /* no worker ready yet: it waits for the next tick */
    ct_store(c->t, id, ct_word(ct_gen(ct_load(c->t, id)), CT_OWNED, slot));
    send_to(c, id, slot, reserved);
}

/* A request arrived on entry ID, idle in a worker that is busy with another: move it to an
 * idle worker, unless its owner has just started serving it. */
static void rescue(conns *c, int id)
{
    uint64_t w = ct_load(c->t, id);
    int from = ct_slot(w);
    if (ct_state_of(w) != CT_OWNED || ct_claim_of(c->t, from) != CLAIM_BUSY)
        return;
    int to = reserve_idle(c, from);
    if (to == NONE)
        return;
    if (!ct_swap(c->t, id, w, ct_word(ct_gen(w), CT_OWNED, to))) {
        ct_claim_swap(c->t, to, CLAIM_RESERVED, CLAIM_IDLE); /* its owner took it first */
        return;
    }
    c->owned[from]--;
    send_to(c, id, to, true);
}

static int unused_entry(conns *c)
{
    for (int k = 0; k < CTAB_MAX; k++) {
        int id = (c->cursor + k) % CTAB_MAX;
        if (c->fd[id] == NONE && ct_state_of(ct_load(c->t, id)) == CT_UNUSED) {
            c->cursor = (id + 1) % CTAB_MAX;
            return id;
        }
    }
    return NONE;
}

static void accept_queued(conns *c)
{
    for (int n = 0; n < ACCEPT_BATCH; n++) {
        int id = unused_entry(c);
        if (id == NONE)
            return; /* the table is full: the rest waits in the backlog */
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warning("accept: %s; pausing %d ms", strerror(errno), ACCEPT_PAUSE_MS);
                c->accept_after_ms = clk_mono_ms() + ACCEPT_PAUSE_MS;
            }
            return; /* EAGAIN: nothing more queued */
        }
        c->fd[id] = fd;
        ct_store(c->t, id, ct_word(ct_gen(ct_load(c->t, id)) + 1, CT_FREE, 0));
        give(c, id);
    }
}

void conns_stop(conns *c)
{
    if (c->stopping)
        return;
    if (c->listen_fd >= 0) {
        accept_queued(c); /* nginx connected before the socket was unlinked: serve those */
        close(c->listen_fd);
        c->listen_fd = -1;
    }
    c->stopping = true;
    atomic_store(&c->t->stopping, 1);
}

int conns_watch(conns *c, struct pollfd *pfd, int *timeout_ms)
{
    int n = 0, used = 0, waiting = 0;
    bool idle = false;
    for (int s = 0; s < c->sb->n_slots; s++) {
        c->owned[s] = 0;
        idle |= ready(c, s) && ct_claim_of(c->t, s) == CLAIM_IDLE;
    }
    for (int id = 0; id < CTAB_MAX; id++) {
        uint64_t w = ct_load(c->t, id);
        ct_state st = ct_state_of(w);
        used += c->fd[id] != NONE;
        waiting += st == CT_FREE && !c->stopping;
        if (st != CT_OWNED && st != CT_SERVING)
            continue;
        c->owned[ct_slot(w)]++;
        if (st != CT_OWNED || ct_claim_of(c->t, ct_slot(w)) != CLAIM_BUSY || c->stopping)
            continue;
        waiting++; /* idle in a busy worker: looked at again soon */
        if (idle) {
            pfd[n] = (struct pollfd){.fd = c->fd[id], .events = POLLIN};
            c->watch_id[n++] = id;
        }
    }
    if (c->listen_fd >= 0 && used < CTAB_MAX && clk_mono_ms() >= c->accept_after_ms) {
        pfd[n] = (struct pollfd){.fd = c->listen_fd, .events = POLLIN};
        c->watch_id[n++] = NONE;
    }
    if (waiting && *timeout_ms > CONNS_WATCH_MS)
        *timeout_ms = CONNS_WATCH_MS;
    return n;
}

void conns_ready(conns *c, const struct pollfd *pfd, int n)
{
    for (int i = 0; i < n; i++) {
        if (!pfd[i].revents)
            continue;
        if (c->watch_id[i] == NONE) {
            if (c->listen_fd >= 0)
                accept_queued(c);
        } else if (!c->stopping) {
            rescue(c, c->watch_id[i]);
        }
    }
}

void conns_tick(conns *c)
{
    for (int id = 0; id < CTAB_MAX; id++) {
        if (c->fd[id] == NONE)
            continue;
        ct_state st = ct_state_of(ct_load(c->t, id));
        if (st == CT_CLOSED) { /* its worker closed it: ours is the last copy that matters */
            close(c->fd[id]);
            c->fd[id] = NONE;
            ct_store(c->t, id, ct_word(ct_gen(ct_load(c->t, id)), CT_UNUSED, 0));
        } else if (st == CT_FREE) {
            if (c->stopping)
                shut(c, id);
            else
                give(c, id);
        }
    }
}

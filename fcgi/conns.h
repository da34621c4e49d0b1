/* conns — the master's side of the connection table (conntab.h).
 *
 * The master is the only process that accepts. Each new connection goes to a worker at once:
 * an idle one (reserved for it), else the ready worker that holds the fewest. A worker serves
 * the connections it owns and polls them itself while idle, so serving request after request
 * on the connections it holds costs the master nothing.
 *
 * What the master watches is what a worker cannot: while a worker is busy with one request, the
 * other connections it owns sit unread, and nginx, which does not know, may send a request on
 * one of them. When such a connection becomes readable and another worker is idle, the master
 * moves it: it reserves the idle worker, takes the connection from the busy one by
 * compare-and-swap (which fails if the busy one has just started serving it) and sends its own
 * copy; the busy worker drops its stale copy when it next looks. So no request waits behind
 * another while a worker is idle. This watching costs a poll() every CONNS_WATCH_MS, and only
 * while some worker is busy owning other connections.
 *
 * A worker that exits: its connections mid-request are shut down (nginx sees the close at once
 * and retries elsewhere: fastcgi_next_upstream error non_idempotent, safe because the ledger
 * makes every delivery idempotent); its idle ones, and those a retiring worker hands back, go
 * to the other workers with whatever nginx has already sent on them: nothing is lost. On stop,
 * the connections already queued are accepted and given out, the listening socket is closed,
 * and a connection no worker holds is shut down (nginx retries, finds no socket, answers 503).
 *
 * Ownership: conns owns the listening socket, its copy of every connection and the master's
 * end of every worker's channel; conns_free() closes them all. */
#ifndef POOL_CONNS_H
#define POOL_CONNS_H

#include <poll.h>

#include "conntab.h"
#include "scoreboard.h"

#define CONNS_WATCH_MS 10             /* how often a busy worker's idle connections are looked at */
#define CONNS_POLL_MAX (CTAB_MAX + 1) /* the most conns_watch() adds */

typedef struct conns conns;

/* Takes LISTEN_FD (non-blocking). NULL when out of memory. */
conns *conns_new(int listen_fd, ctab *t, scoreboard *sb);
/* Shuts down and closes every connection still held, the channels and the listening socket. */
void conns_free(conns *c);

/* A worker was forked into SLOT; CHAN, the master's end of its channel, is conns' from now. */
void conns_worker_started(conns *c, int slot, int chan);
/* The worker in SLOT is told to retire: it gets no more connections. */
void conns_worker_retiring(conns *c, int slot);
/* The worker in SLOT has exited: its channel is closed, its connections mid-request shut down,
 * its idle ones given to other workers. */
void conns_worker_gone(conns *c, int slot);

/* In a child just forked: closes every descriptor conns holds, so only the master keeps them. */
void conns_close_inherited(const conns *c);

/* The pool stops: what is queued on the listening socket is accepted and given out, the socket
 * is closed, the workers are told to drain (ctab.stopping), and from now on a connection no
 * worker holds is shut down. */
void conns_stop(conns *c);

/* Fills PFD (room for CONNS_POLL_MAX) with what to watch: the listening socket while it takes
 * connections and, while a worker is idle, the idle connections of busy workers. Lowers
 * *TIMEOUT_MS when conns must look again sooner. Returns how many entries it filled; pass
 * the same PFD and count to conns_ready() after poll(). */
int conns_watch(conns *c, struct pollfd *pfd, int *timeout_ms);
void conns_ready(conns *c, const struct pollfd *pfd, int n);

/* Once per master loop: closes the copies of connections their workers closed, and gives out
 * (or, stopping, shuts down) those no worker holds. */
void conns_tick(conns *c);

#endif

/* worker — one pool process: polls the FastCGI connections it owns (the master hands them over
 * its channel: conns.h), turns each request into an http_request, hands it to the service,
 * writes the answer, and keeps its scoreboard slot and its entries in the connection table
 * current. Runs until SIGTERM (hands its connections back, or drains them when the pool stops,
 * then exits 0) or until it has served max_requests (recycled: the master starts a fresh one). */
#ifndef POOL_WORKER_H
#define POOL_WORKER_H

#include "config.h"
#include "conntab.h"
#include "scoreboard.h"

#define WORKER_EXIT_INIT 3   /* could not start (bad ledger URL, ...): the master backs off */
#define WORKER_EXIT_LEDGER 4 /* its ledger can no longer be used (service_restart_wanted) */

typedef struct {
    int chan; /* the worker's end of its channel from the master (fdpass.h) */
    int slot; /* index into sb->slots and ctab.claim */
    ctab *t;
    const config *cfg;
    scoreboard *sb;
} worker_args;

/* Returns the process exit code. */
int worker_main(const worker_args *args);

#endif

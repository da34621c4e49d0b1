/* master — the pool's supervisor.
 *
 * Binds nothing itself (main.c hands it the listening fd) and serves no request: it accepts
 * every connection and gives it to a worker, moving one a request arrives on from a busy worker
 * to an idle one (conns.h); it forks the workers, restarts one that dies (with exponential
 * backoff when they die young, so a crash loop does not spin), replaces one that exits after
 * max_requests, SIGKILLs one whose request runs past request_timeout_s (+1 s of grace: nginx's
 * own read timeout answers the client 504 first), re-reads the config on SIGHUP and replaces
 * workers one at a time (a new one is ready before an old one is told to retire, so nothing is
 * refused; a config check-config refuses is refused, and a generation whose first worker
 * cannot start is rolled back), collects the ledger's old records every ledger.gc_interval_s in
 * a short-lived child, and on SIGTERM/SIGINT (once or many times) unlinks the socket, lets
 * every worker drain within shutdown_timeout_s, and returns 0. Its children die with it
 * (PR_SET_PDEATHSIG). */
#ifndef POOL_MASTER_H
#define POOL_MASTER_H

#include <signal.h>

#include "config.h"
#include "options.h"
#include "scoreboard.h"

/* Blocks the signals the master reads from its signalfd (SIGTERM, SIGINT, SIGHUP, SIGCHLD) and
 * fills SET with them. main calls it before binding the socket, so a stop during start-up
 * waits for the master (which unlinks the socket) instead of killing the process. */
void master_block_signals(sigset_t *set);

/* Takes ownership of *CFG (moved out; the master frees it). Returns the exit code. */
int master_run(const pool_options *opts, config *cfg, int listen_fd, scoreboard *sb);

#endif

/* follower — the pool's one background process: it calls the configured function's follow()
 * (function.h) again and again with a ledger handle of its own, until SIGTERM or SIGINT.
 *
 * Everything it follows lives in the ledger, so a follower that dies or is restarted loses
 * nothing: the next one (on this host or another) picks up where the leases say. The pool's
 * master starts it after the workers, restarts it when it dies, and stops it with them.
 *
 * The caller blocks SIGTERM and SIGINT before it calls follower_main (the pool's children
 * inherit the master's mask): the follower waits for them between calls, and follow() asks
 * between steps, so a stop never cuts a step short. */
#ifndef RT_FOLLOWER_H
#define RT_FOLLOWER_H

#include <stdbool.h>

#include "config.h"

/* True when CFG's function has work to follow. */
bool follower_wanted(const config *cfg);

/* Runs the follower for CFG until a stop signal: 0 when stopped, 1 when it could not start
 * (logged: no ledger, the function's init failed) or lost its ledger. */
int follower_main(const config *cfg);

#endif

/* budget — a rate shared by every process and host on one ledger: "at most N calls a minute"
 * for a name such as "vertex.reads/PROJECT/REGION".
 *
 * A token bucket kept in the ledger: it holds at most a burst of N/12 tokens (five seconds'
 * worth, at least one), refills at N a minute, and each call takes one token in one atomic
 * statement, so any number of followers on any number of hosts stay within N a minute (plus
 * the burst, once) between them. A caller that gets none waits (budget_wait_ms) instead of
 * calling. The bucket counts on the store's clock (PostgreSQL's; this host's for SQLite). */
#ifndef RT_BUDGET_H
#define RT_BUDGET_H

#include <stdbool.h>

#include "ledger.h"

/* Takes one call from NAME's budget of PER_MINUTE (> 0): *GRANTED tells whether the caller may
 * go. Errors as in ledger.h (LEDGER_ERR_INVALID for an empty name or a rate <= 0). */
ledger_status budget_take(ledger *l, const char *name, int per_minute, bool *granted);

/* How long a caller refused by a budget of PER_MINUTE should wait before asking again: the
 * time one token takes to come back (at least 10 ms). */
int budget_wait_ms(int per_minute);

#endif

/* gc — one collection of the ledger's finished records: what the pool's master schedules (in a
 * short-lived child, every ledger.gc_interval_s) and `retrainctl gc` runs by hand.
 *
 * Claimed records are never collected, whatever their age: a claim is work in flight. */
#ifndef RT_GC_H
#define RT_GC_H

#include <stdint.h>

/* Opens the ledger at URL, removes the finished records last seen more than OLDER_THAN_S
 * seconds ago, and closes it. Logs the outcome (how many were removed, or why it failed;
 * never the URL's password). 0, or -1. *REMOVED (may be NULL) gets the count. */
int gc_collect(const char *url, int64_t older_than_s, int64_t *removed);

#endif

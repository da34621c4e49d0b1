/* metrics — the pool's counters in Prometheus text exposition format (version 0.0.4).
 *
 * Renders what the scoreboard holds: requests by route and status, a latency histogram per
 * route, workers by state, and the master's restart counters; and, from the ledger, the runs
 * by rule and state. Served at GET /metrics, which nginx answers only to loopback. */
#ifndef RT_METRICS_H
#define RT_METRICS_H

#include <stddef.h>

#include "arena.h"
#include "runs.h"
#include "scoreboard.h"

/* The exposition text, in the arena; *LEN receives its length. NULL on OOM. RUNS (N_RUNS of
 * them, from runs_count) may be NULL when the ledger could not say: the run gauges are then
 * left out, and retrain_ledger_up says 0. */
char *metrics_render(scoreboard *sb, const run_count *runs, size_t n_runs, arena *a, size_t *len);

#endif

/* metrics — the pool's counters in Prometheus text exposition format (version 0.0.4).
 *
 * Renders what the scoreboard holds: requests by route and status, a latency histogram per
 * route, workers by state, the master's restart counters, deliveries by rule and outcome, auth
 * refusals by reason, Vertex AI and Cloud Storage calls by method and status, token and
 * signing-key refreshes, and the request path's ledger calls; and, from the ledger, the runs by
 * rule and state, the dead letters, the promotion decisions by rule and outcome, and the metric
 * of the version each gated alias is on. Served at GET /metrics, which nginx answers only to
 * loopback. `promtool check metrics` passes on it (tests/e2e/test_metrics.sh). */
#ifndef RT_METRICS_H
#define RT_METRICS_H

#include <stddef.h>

#include "alias_moves.h"
#include "arena.h"
#include "runs.h"
#include "scoreboard.h"

/* What the ledger says, read for one scrape (all borrowed). */
typedef struct {
    const run_count *runs; /* from runs_count */
    size_t n_runs;
    const decision_count *decisions; /* from runs_decision_counts */
    size_t n_decisions;
    const alias_move *serving; /* the last move of each model's alias (alias_moves_list, latest) */
    size_t n_serving;
    int64_t dead_letters; /* events whose record is failed (ledger_count_status) */
} metrics_ledger;

/* The exposition text, in the arena; *LEN receives its length. NULL on OOM. LG may be NULL when
 * the ledger could not say: the run gauges are then left out, and retrain_ledger_up says 0. */
char *metrics_render(scoreboard *sb, const metrics_ledger *lg, arena *a, size_t *len);

#endif

/* metrics — the pool's counters in Prometheus text exposition format (version 0.0.4).
 *
 * Renders what the scoreboard holds: requests by route and status, a latency histogram per
 * route, workers by state, and the master's restart counters. Served at GET /metrics, which
 * nginx answers only to loopback. */
#ifndef RT_METRICS_H
#define RT_METRICS_H

#include <stddef.h>

#include "arena.h"
#include "scoreboard.h"

/* The exposition text, in the arena; *LEN receives its length. NULL on OOM. */
char *metrics_render(scoreboard *sb, arena *a, size_t *len);

#endif

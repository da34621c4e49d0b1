/* service — one worker's request path, transport-neutral.
 *
 *   GET  /healthz   liveness: the worker answers
 *   GET  /readyz    readiness: the ledger answers and a key set is loaded
 *   GET  /status    the pool's scoreboard as JSON
 *   GET  /metrics   Prometheus text
 *   GET  /ui/...    the operator's read-only pages over the ledger (ui.h)
 *   POST /          one CloudEvent (or a Pub/Sub push envelope, see pubsub_push.h):
 *                   auth → parse → claim → function → finish → answer
 *
 * The transport (fcgi/worker.c) builds an http_request, calls service_handle(), writes the
 * http_response. Everything the answer points to lives in the request's arena.
 *
 * Ownership: a service belongs to one worker process; create it after fork (it opens the ledger
 * and the key cache). It borrows CFG and SB, which must outlive it. */
#ifndef RT_SERVICE_H
#define RT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "http_request.h"
#include "scoreboard.h"

typedef struct service service;

/* NULL with ERR on failure (unknown function, ledger that cannot be opened, bad auth config). */
service *service_new(const config *cfg, scoreboard *sb, char *err, size_t errlen);
void service_free(service *svc);

void service_handle(service *svc, const http_request *req, arena *a, http_response *resp);

/* True when this worker must stop and be replaced by a fresh process: its SQLite ledger was
 * deleted or replaced under it, or SQLite faulted on a mapped file (see ledger_lost). Its
 * deliveries answer 503 from then on; the transport drains and exits with a code that says so.
 * Logged once, at the first call that finds it. */
bool service_restart_wanted(service *svc);

#endif

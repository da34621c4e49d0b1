/* faults — injected failures, set per test run with POST /emulator/faults.
 *
 *   {"rate_503":0.3, "rate_429":0.0, "latency_ms":2000, "drop_rate":0.0, "truncate_rate":0.0,
 *    "drop_after_rate":0.0, "paths":"/v1/", "methods":"GET", "routes":["customJobs.get"],
 *    "limit":N, "seed":N}
 *
 * A drop closes the connection before the request is handled (nothing happened); a truncated
 * answer and a drop after handling come after the request took effect: the client cannot tell
 * these apart from a drop, which is the point.
 *
 * Each POST replaces every setting (members left out are zero; {} turns faults off). Faults
 * (and latency) apply only to the requests that match every selector given:
 *   paths    the path starts with it (default "/v1/"; "" = every path; when "routes" is given
 *            without "paths", every path)
 *   methods  "GET" or ["GET","POST"]: the HTTP method is one of them (default: any)
 *   routes   "customJobs.get" or a list: the request is for one of these routes (routes.h;
 *            default: any; an unknown name is refused)
 * and never to the /emulator/ control paths. "limit" (default 0 = none) stops injecting after
 * that many faults; latency goes on. So reads can be refused with 429 while creates go
 * through ({"rate_429":1,"methods":"GET"}), or the other way round.
 *
 * All draws come from one generator: with "seed" a run is repeatable given the same request
 * order; a request no selector matches draws nothing. Thread-safe. */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include "emu.h"

typedef enum {
    EMU_FAULT_NONE,
    EMU_FAULT_503,        /* answer 503 UNAVAILABLE */
    EMU_FAULT_429,        /* answer 429 RESOURCE_EXHAUSTED */
    EMU_FAULT_DROP,       /* close the connection without an answer */
    EMU_FAULT_TRUNCATE,   /* handle, then answer 200 with half the body */
    EMU_FAULT_DROP_AFTER, /* handle, then close the connection without an answer */
} emu_fault;

/* Decides the fault for a request (ROUTE from emu_route_of(), may be NULL), after sleeping
 * latency_ms when the settings apply to it. Counts an injected fault under ROUTE ("other"
 * when NULL). */
emu_fault emu_fault_pick(const char *method, const char *path, const char *route);
/* Google's answer for a fault that stops the request (503, 429); false for the others. */
bool emu_fault_answer(emu_fault k, emu_response *resp);
/* The same for ROUTE (may be NULL): a Cloud Storage route ("storage.*") gets the JSON API's
 * error shape (503 backendError, 429 rateLimitExceeded), every other one google.rpc.Status. */
bool emu_fault_answer_for(emu_fault k, const char *route, emu_response *resp);
/* POST /emulator/faults. */
void emu_faults_set(const emu_request *req, emu_response *resp);
/* Faults off, counters zero. */
void emu_faults_reset(void);
/* Adds "faults":{"unavailable_503","exhausted_429","dropped","truncated","dropped_after"} and
 * "faults_by_route":{ROUTE:n} (every injected fault, of any kind) to OUT. */
void emu_faults_stats(json_t *out);

#endif

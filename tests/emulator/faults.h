/* faults — injected failures, set per test run with POST /emulator/faults.
 *
 *   {"rate_503":0.3, "rate_429":0.0, "latency_ms":2000, "drop_rate":0.0, "truncate_rate":0.0,
 *    "drop_after_rate":0.0, "paths":"/v1/", "seed":N}
 *
 * A drop closes the connection before the request is handled (nothing happened); a truncated
 * answer and a drop after handling come after the request took effect: the client cannot tell
 * these apart from a drop, which is the point.
 *
 * Each POST replaces every setting (members left out are zero; {} turns faults off). Faults
 * apply only to requests whose path starts with "paths" (default "/v1/"; "" = every path), never to
 * the /emulator/ control paths. All draws come from one generator: with "seed" a run is repeatable
 * given the same request order. Thread-safe. */
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

/* Decides the fault for a request to PATH, after sleeping latency_ms when it applies. */
emu_fault emu_fault_pick(const char *path);
/* POST /emulator/faults. */
void emu_faults_set(const emu_request *req, emu_response *resp);
/* Faults off, counters zero. */
void emu_faults_reset(void);
/* Adds "faults":{"unavailable_503","exhausted_429","dropped","truncated","dropped_after"} to
 * OUT. */
void emu_faults_stats(json_t *out);

#endif

/* trace — the W3C Trace Context of the work at hand (https://www.w3.org/TR/trace-context/).
 *
 * A delivery may carry `traceparent` (or Google's older `X-Cloud-Trace-Context`). The worker
 * makes it the current trace while it serves the request; the follower makes a run's stored
 * one current while it works on that run. The current trace is what the log lines name, what
 * every outbound call carries as its own `traceparent` (fetch.c), and what a run begun now
 * records, so one trace joins the delivery, the Vertex AI calls it made, the run and the
 * follower's calls for it. We record no spans of our own, so we pass the caller's parent-id on
 * unchanged (the spec's pass-through participant): Google's spans then hang under the span
 * that delivered the event, and no span points at a parent nobody recorded.
 *
 * Memory: one current trace per process (workers and the follower are single-threaded); the
 * strings returned stay valid until the next trace_begin or trace_end. */
#ifndef RT_TRACE_H
#define RT_TRACE_H

#include <stdbool.h>

#define TRACE_HEADER_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */

typedef struct {
    char id[33];     /* 32 lower-case hex, not all zero */
    char parent[17]; /* 16 lower-case hex, not all zero */
    unsigned flags;  /* trace-flags; bit 0: sampled */
} trace_ctx;

/* Parses a traceparent header by the spec: version 00 exactly, or a later version (not ff)
 * read by its first four fields. False for anything else (then the header is ignored). */
bool trace_parse(const char *traceparent, trace_ctx *out);

/* Parses "TRACE_ID[/SPAN_ID][;o=0|1]" (X-Cloud-Trace-Context; SPAN_ID decimal). A missing or
 * zero span id gets a random parent-id. False when TRACE_ID is not 32 hex digits. */
bool trace_parse_cloud(const char *x_cloud_trace, trace_ctx *out);

/* Makes the trace of these headers (either may be NULL; traceparent wins when valid) current,
 * or none when neither is valid. */
void trace_begin(const char *traceparent, const char *x_cloud_trace);
void trace_end(void);

/* The current trace id, or NULL. */
const char *trace_id(void);
/* The current trace as a traceparent header value (version 00), or NULL. */
const char *trace_header(void);

#endif

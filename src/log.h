/* log — one JSON object per line on stderr, with Cloud Logging's field names.
 *
 *   {"severity":"INFO","message":"...","time":"2026-11-26T07:00:00.123Z","component":"worker",
 *    "pid":4242,"logging.googleapis.com/trace":"projects/p/traces/4bf9...", ...fields}
 *
 * The trace is per request: the worker sets it from `traceparent` or `X-Cloud-Trace-Context`
 * when a request starts and clears it when the answer is sent. Nothing secret is ever passed in:
 * callers log a token's claims or a URL's host, never a token, key or password. One write(2)
 * per line, so lines from many workers never interleave. Every line is valid JSON (RFC 8259) in
 * printable ASCII whatever bytes the message or the fields carry: a string or key that is not
 * UTF-8 is written as its rendering under the printable policy (printable.h), and a message cut
 * at its 2 KiB bound loses the character the cut split. */
#ifndef RT_LOG_H
#define RT_LOG_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
    LOG_DEBUG,
    LOG_INFO,
    LOG_NOTICE,
    LOG_WARNING,
    LOG_ERROR,
    LOG_CRITICAL,
} log_severity;

/* COMPONENT names the process ("master", "worker", "retrainctl"); the string must outlive the
 * program. Lines below MIN are dropped. Safe to call again (after a fork, say). */
void log_init(const char *component, log_severity min);

/* "DEBUG" ... "CRITICAL"; parse returns -1 for an unknown name. */
const char *log_severity_name(log_severity s);
int log_severity_parse(const char *name, log_severity *out);

/* Makes the trace of the request's headers (either may be NULL) current (trace_begin: what
 * outbound calls carry too) and names it in the lines after, with PROJECT (may be NULL: the
 * bare trace id is logged then). Invalid header values are ignored. log_clear_trace ends it. */
void log_set_trace(const char *traceparent, const char *x_cloud_trace, const char *project);
void log_clear_trace(void);
/* The current trace field value, or NULL. */
const char *log_trace(void);

/* Emits one line. FIELDS (an object, may be NULL) is stolen; its members are merged into the
 * line. */
void log_emit(log_severity s, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_emit(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, NULL, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...) log_emit(LOG_ERROR, NULL, __VA_ARGS__)

#endif

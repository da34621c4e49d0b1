/* fetch — outbound HTTP: a small libcurl wrapper for every call to Google (Vertex AI, OAuth,
 * the metadata server, the JWK set).
 *
 * One client holds one curl easy handle, kept alive for the worker's life so that consecutive
 * calls reuse the TCP connection and the TLS session (the handle's own connection cache keeps a
 * few hosts, so the token endpoint and Vertex share it). A client is used by one thread at a time.
 *
 * Every call has its own deadline (the whole transfer, connect included). The answer's body, its
 * HTTP status and a few selected headers (Retry-After, Cache-Control's max-age, Content-Type)
 * come back in a fetch_answer. Only http:// and https:// are allowed, redirects are not
 * followed, a body larger than the call's limit (FETCH_MAX_BODY by default) is refused, and a
 * loopback host is never reached through a proxy from the environment. A call made while a
 * trace is current (trace.h) carries it as `traceparent`.
 *
 * `sent` tells whether any byte of the request left this process: a caller deciding whether a
 * non-idempotent call may be retried needs to know that a failure happened before sending
 * (connection refused, DNS) and so certainly created nothing.
 *
 * libcurl silently re-sends a request when a reused connection closes before any answer byte
 * (it assumes the server closed the idle connection first). For a non-idempotent call that
 * guess can create a resource twice, so a call marked `once` goes on a fresh connection (the
 * TLS session is still resumed from the handle's cache), which curl never retries; the new
 * connection then stays in the cache for the calls after it. */
#ifndef RT_FETCH_H
#define RT_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#define FETCH_MAX_BODY (4u << 20)

typedef enum {
    FETCH_OK,          /* an answer arrived (any status) */
    FETCH_ERR_CONNECT, /* could not resolve or connect: nothing was sent */
    FETCH_ERR_TIMEOUT, /* the deadline passed */
    FETCH_ERR_IO,      /* the connection failed while sending or receiving */
    FETCH_ERR_TOO_BIG, /* the answer exceeded FETCH_MAX_BODY */
    FETCH_ERR_USAGE,   /* bad URL or scheme, bad arguments */
    FETCH_ERR_NOMEM,
} fetch_err;

const char *fetch_err_name(fetch_err e);

typedef struct fetch_client fetch_client;

/* A new client, or NULL when memory or curl fails. Free with fetch_free (NULL allowed). */
fetch_client *fetch_new(void);
void fetch_free(fetch_client *c);

/* REUSE false: every call opens a new connection and closes it after (for the benchmark). */
void fetch_set_reuse(fetch_client *c, bool reuse);

/* Connections opened since the client was made (curl's CURLINFO_NUM_CONNECTS summed). */
long fetch_connects(const fetch_client *c);

typedef struct {
    const char *method;         /* "GET", "POST" */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;            /* bytes of BODY */
    long timeout_ms;            /* whole call; must be > 0 */
    long connect_timeout_ms;    /* 0: same as timeout_ms */
    size_t max_body;            /* 0: FETCH_MAX_BODY */
    bool once;                  /* never sent twice: see above */
} fetch_call;

typedef struct {
    long status; /* HTTP status, 0 when none arrived */
    char *body;  /* malloc'd, NUL-terminated (may contain NULs); owned by the response */
    size_t body_len;
    bool sent;          /* some of the request was sent (see above) */
    long retry_after_s; /* Retry-After in seconds, -1 when absent */
    long max_age_s;     /* Cache-Control max-age in seconds (0: no-store, no-cache), -1: absent */
    char content_type[64];
    char detail[128]; /* curl's description of a failure; never holds request data */
} fetch_answer;

/* Performs CALL. Fills RESP (always, even on failure; release with fetch_answer_free). */
fetch_err fetch_do(fetch_client *c, const fetch_call *call, fetch_answer *resp);

/* Frees RESP's body and zeroes it. */
void fetch_answer_free(fetch_answer *resp);

#endif

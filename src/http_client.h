/* http_client — a small libcurl wrapper for calls to Google (Vertex AI, OAuth, metadata).
 *
 * One client holds one curl easy handle, kept alive for the worker's life so that consecutive
 * calls reuse the TCP connection and the TLS session (the handle's own connection cache keeps a
 * few hosts, so the token endpoint and Vertex share it). A client is used by one thread at a time.
 *
 * Every call has its own deadline (the whole transfer, connect included). The answer's body, its
 * HTTP status and a few selected headers come back in an http_answer. Only http:// and https://
 * are allowed, redirects are not followed, and a body larger than HTTP_MAX_BODY is refused.
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
#ifndef RT_HTTP_CLIENT_H
#define RT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_BODY (4u << 20)

typedef enum {
    HTTP_OK,          /* an answer arrived (any status) */
    HTTP_ERR_CONNECT, /* could not resolve or connect: nothing was sent */
    HTTP_ERR_TIMEOUT, /* the deadline passed */
    HTTP_ERR_IO,      /* the connection failed while sending or receiving */
    HTTP_ERR_TOO_BIG, /* the answer exceeded HTTP_MAX_BODY */
    HTTP_ERR_USAGE,   /* bad URL or scheme, bad arguments */
    HTTP_ERR_NOMEM,
} http_err;

const char *http_err_name(http_err e);

typedef struct http_client http_client;

/* A new client, or NULL when memory or curl fails. Free with http_client_free (NULL allowed). */
http_client *http_client_new(void);
void http_client_free(http_client *c);

/* REUSE false: every call opens a new connection and closes it after (for the benchmark). */
void http_client_set_reuse(http_client *c, bool reuse);

/* Connections opened since the client was made (curl's CURLINFO_NUM_CONNECTS summed). */
long http_client_connects(const http_client *c);

typedef struct {
    const char *method;         /* "GET", "POST" */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;            /* bytes of BODY */
    long timeout_ms;            /* whole call; must be > 0 */
    long connect_timeout_ms;    /* 0: same as timeout_ms */
    bool once;                  /* never sent twice: see above */
} http_call;

typedef struct {
    long status; /* HTTP status, 0 when none arrived */
    char *body;  /* malloc'd, NUL-terminated (may contain NULs); owned by the response */
    size_t body_len;
    bool sent;          /* some of the request was sent (see above) */
    long retry_after_s; /* Retry-After in seconds, -1 when absent */
    char content_type[64];
    char detail[128]; /* curl's description of a failure; never holds request data */
} http_answer;

/* Performs CALL. Fills RESP (always, even on failure; release with http_answer_free). */
http_err http_client_do(http_client *c, const http_call *call, http_answer *resp);

/* Frees RESP's body and zeroes it. */
void http_answer_free(http_answer *resp);

#endif

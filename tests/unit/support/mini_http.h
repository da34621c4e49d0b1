/* mini_http — test-only: a tiny HTTP/1.1 server on 127.0.0.1 in a thread, answering from a
 * script of canned replies, for testing clients (fetch_client, gauth, vertex) without Google.
 *
 * Replies are served in the order pushed; when the script is empty every request gets the
 * fallback reply (200 "{}" unless set). It keeps connections alive unless a reply says otherwise,
 * serves each connection on its own thread, and counts connections and requests. mini_http_stop()
 * joins the thread and closes every socket; call it in teardown so that a failing test leaves
 * nothing running. Aborts on setup failure. */
#ifndef TEST_MINI_HTTP_H
#define TEST_MINI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int status;          /* 0: reply nothing and close the connection (a drop after send) */
    const char *body;    /* copied when pushed; NULL: "" */
    const char *headers; /* extra header lines, each ending in "\r\n"; may be NULL */
    int delay_ms;        /* wait this long before answering */
    bool close;          /* close the connection after answering */
    const char *path;    /* answer only a request whose path starts with this; NULL: any */
} mini_reply;

typedef struct mini_http mini_http;

mini_http *mini_http_start(void);
void mini_http_stop(mini_http *s);
int mini_http_port(const mini_http *s);
/* "http://127.0.0.1:PORT" (borrowed). */
const char *mini_http_url(const mini_http *s);

/* Queues a reply. A reply with a path is used by the first request whose path matches; others
 * are answered in order. */
void mini_http_push(mini_http *s, mini_reply r);

/* The reply every request gets once the script is used up (default 200 "{}"); BODY and HEADERS
 * are borrowed and must outlive the server. */
void mini_http_set_fallback(mini_http *s, mini_reply r);

long mini_http_connections(mini_http *s);
long mini_http_requests(mini_http *s);
/* Requests whose request line starts with PREFIX ("POST /v1/"). */
long mini_http_count(mini_http *s, const char *prefix);
/* A malloc'd copy of the last request (head and body); the caller frees it. */
char *mini_http_last_request(mini_http *s);

#endif

/* http_request — a transport-neutral HTTP request and response.
 *
 * The transport (fcgi/) fills an http_request whose strings all live in the request's arena (or
 * in memory that outlives the request); the library answers by filling an http_response whose
 * strings also come from that arena. Nothing here is freed singly: the arena reset after the
 * answer releases it all. Header names are stored lower-case ("content-type", "ce-id"). */
#ifndef RT_HTTP_REQUEST_H
#define RT_HTTP_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

typedef struct {
    const char *name; /* lower-case */
    const char *value;
} http_header;

typedef struct http_request {
    const char *method;      /* "POST" */
    const char *path;        /* "/", without the query string */
    const char *query;       /* "" when absent */
    const char *remote_addr; /* as the transport saw it; "" when unknown */
    const http_header *headers;
    size_t n_headers;
    const unsigned char *body;
    size_t body_len;
} http_request;

#define HTTP_MAX_RESPONSE_HEADERS 8

typedef struct http_response {
    int status;
    const char *content_type;
    http_header headers[HTTP_MAX_RESPONSE_HEADERS];
    size_t n_headers;
    const char *body;
    size_t body_len;
} http_response;

/* The value of header NAME (any case), or NULL. The first one wins when repeated. */
const char *http_header_get(const http_request *req, const char *name);

/* The reason phrase for STATUS ("Not Found"); "Unknown" for codes we never send. */
const char *http_status_text(int status);

/* Adds a response header; both strings must outlive the response (arena or static).
 * Returns 0, or -1 when HTTP_MAX_RESPONSE_HEADERS are already set. */
int http_response_add_header(http_response *resp, const char *name, const char *value);

/* Sets STATUS and BODY serialized compactly into the arena, with content type
 * application/json. BODY is stolen (decref'd here). Returns 0, or -1 on OOM (then the
 * response is a bare 500). */
int http_response_json(http_response *resp, arena *a, int status, json_t *body);

/* The error shape every failure uses: {"error": CODE, "message": MESSAGE}. */
int http_response_error(http_response *resp, arena *a, int status, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif

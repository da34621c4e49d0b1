/* http_request — see http_request.h. */
#include "http_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *http_header_get(const http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

int http_response_add_header(http_response *resp, const char *name, const char *value)
{
    if (resp->n_headers >= HTTP_MAX_RESPONSE_HEADERS)
        return -1;
    resp->headers[resp->n_headers].name = name;
    resp->headers[resp->n_headers].value = value;
    resp->n_headers++;
    return 0;
}

static void bare_500(http_response *resp)
{
    static const char body[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
    resp->status = 500;
    resp->content_type = "application/json";
    resp->body = body;
    resp->body_len = sizeof body - 1;
}

/* jansson's dump callback, appending into an arena-backed growing buffer. */
typedef struct {
    arena *a;
    char *buf;
    size_t len, cap;
} sink;

static int sink_write(const char *data, size_t n, void *ctx)
{
    sink *s = ctx;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 512;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *nb = arena_alloc(s->a, cap);
        if (!nb)
            return -1;
        if (s->len)
            memcpy(nb, s->buf, s->len);
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

int http_response_json(http_response *resp, arena *a, int status, json_t *body)
{
    sink s = {.a = a};
    int rc = body ? json_dump_callback(body, sink_write, &s, JSON_COMPACT) : -1;
    json_decref(body);
    if (rc != 0 || !s.buf) {
        bare_500(resp);
        return -1;
    }
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = s.buf;
    resp->body_len = s.len;
    return 0;
}

int http_response_error(http_response *resp, arena *a, int status, const char *code,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = arena_vprintf(a, fmt, ap);
    va_end(ap);
    if (!msg) {
        bare_500(resp);
        return -1;
    }
    return http_response_json(resp, a, status,
                              json_pack("{s:s, s:s}", "error", code, "message", msg));
}

/* fetch — see fetch.h.
 *
 * curl_easy_reset() at the start of each call clears the previous call's options but keeps the
 * handle's live connections, DNS cache and TLS session cache: that is what makes one handle per
 * worker cheap. */
#include "fetch.h"

#include "trace.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct fetch_client {
    CURL *curl;
    bool reuse;
    long connects;
};

const char *fetch_err_name(fetch_err e)
{
    switch (e) {
    case FETCH_OK:
        return "ok";
    case FETCH_ERR_CONNECT:
        return "connect failed";
    case FETCH_ERR_TIMEOUT:
        return "timed out";
    case FETCH_ERR_IO:
        return "connection failed mid-call";
    case FETCH_ERR_TOO_BIG:
        return "answer too large";
    case FETCH_ERR_USAGE:
        return "bad request arguments";
    case FETCH_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown";
}

static void global_init_once(void)
{
    /* curl_global_init is not thread-safe before 7.84 and idempotent after; the pool calls us
     * in each worker before any thread exists. */
    static bool done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = true;
    }
}

fetch_client *fetch_new(void)
{
    global_init_once();
    fetch_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    c->reuse = true;
    return c;
}

void fetch_free(fetch_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void fetch_set_reuse(fetch_client *c, bool reuse)
{
    c->reuse = reuse;
}

long fetch_connects(const fetch_client *c)
{
    return c->connects;
}

typedef struct {
    fetch_answer *resp;
    size_t cap, max;
    bool too_big;
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    sink *s = userp;
    size_t len = size * n;
    fetch_answer *r = s->resp;
    if (r->body_len + len > s->max) {
        s->too_big = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (r->body_len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

/* Copies a header's value (trimmed) when NAME matches; returns true when it did. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - v) < outlen - 1 ? (size_t)(end - v) : outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

/* Cache-Control's max-age (RFC 9111 5.2.2.1), or 0 when the answer must not be reused; -1
 * when it says neither. Directive names are case-insensitive. */
static long cache_max_age(const char *value)
{
    long age = -1;
    for (const char *p = value; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        if (strncasecmp(p, "no-store", 8) == 0 || strncasecmp(p, "no-cache", 8) == 0)
            return 0;
        if (n > 8 && strncasecmp(p, "max-age=", 8) == 0) {
            char *end;
            long v = strtol(p + 8, &end, 10);
            if (end != p + 8 && v >= 0)
                age = v;
        }
        p += n;
    }
    return age;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    fetch_answer *r = userp;
    size_t len = size * n;
    char v[256];
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after 100 Continue) */
        r->retry_after_s = -1;
        r->max_age_s = -1;
        r->content_type[0] = '\0';
    } else if (header_value(data, len, "Retry-After", v, sizeof v)) {
        char *end;
        long s = strtol(v, &end, 10);
        if (end != v && *end == '\0' && s >= 0)
            r->retry_after_s = s;
    } else if (header_value(data, len, "Cache-Control", v, sizeof v)) {
        r->max_age_s = cache_max_age(v);
    } else {
        header_value(data, len, "Content-Type", r->content_type, sizeof r->content_type);
    }
    return len;
}

static fetch_err map_error(CURLcode rc, const sink *s)
{
    switch (rc) {
    case CURLE_OK:
        return FETCH_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return FETCH_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return FETCH_ERR_TIMEOUT;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return FETCH_ERR_USAGE;
    case CURLE_OUT_OF_MEMORY:
        return FETCH_ERR_NOMEM;
    case CURLE_WRITE_ERROR:
        return s->too_big ? FETCH_ERR_TOO_BIG : FETCH_ERR_NOMEM;
    default:
        return FETCH_ERR_IO;
    }
}

static struct curl_slist *build_headers(const fetch_call *call)
{
    /* "Expect:" stops curl from waiting for 100-continue on larger bodies. */
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    for (const char *const *h = call->headers; list && h && *h; h++) {
        struct curl_slist *next = curl_slist_append(list, *h);
        if (!next) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = next;
    }
    /* The work's trace goes on with the call (trace.h). */
    char tp[sizeof "traceparent: " + TRACE_HEADER_LEN];
    if (list && trace_header()) {
        snprintf(tp, sizeof tp, "traceparent: %s", trace_header());
        struct curl_slist *next = curl_slist_append(list, tp);
        if (!next)
            curl_slist_free_all(list);
        list = next;
    }
    return list;
}

fetch_err fetch_do(fetch_client *c, const fetch_call *call, fetch_answer *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
    resp->max_age_s = -1;
    if (!call->url || !call->method || call->timeout_ms <= 0) {
        snprintf(resp->detail, sizeof resp->detail, "missing URL, method or timeout");
        return FETCH_ERR_USAGE;
    }
    struct curl_slist *headers = build_headers(call);
    if (!headers)
        return FETCH_ERR_NOMEM;

    CURL *h = c->curl;
    char errbuf[CURL_ERROR_SIZE] = "";
    sink s = {.resp = resp, .max = call->max_body ? call->max_body : FETCH_MAX_BODY};
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* A proxy from the environment cannot reach our loopback (the emulator, a local sidecar). */
    curl_easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, call->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     call->connect_timeout_ms > 0 ? call->connect_timeout_ms : call->timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* any encoding curl can decode */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "eventarc-retrain/1 libcurl");
    if (!c->reuse || call->once)
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    if (!c->reuse)
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (strcmp(call->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(call->method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body ? call->body : "");
    }

    CURLcode rc = curl_easy_perform(h);
    long sent = 0, connects = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    /* The options point at our stack; clear them before returning. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    resp->sent = sent > 0;
    c->connects += connects;
    if (!resp->body) { /* a body that is always a string, even when empty */
        resp->body = calloc(1, 1);
        if (!resp->body)
            return FETCH_ERR_NOMEM;
    }
    if (rc != CURLE_OK)
        snprintf(resp->detail, sizeof resp->detail, "%.*s", (int)sizeof resp->detail - 1,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return map_error(rc, &s);
}

void fetch_answer_free(fetch_answer *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
    resp->max_age_s = -1;
}

/* sink — the notice sink: a user's webhook that takes CloudEvents in HTTP binary mode, keeps
 * the ones it accepts in memory and lets a test read them back. Nothing of Google's.
 *
 *   POST   /emulator/sink[/ANY...]  a delivery: 204 when stored, 400 naming what is wrong
 *   POST   /emulator/sink/config    {"fail_next":N, "status":503}: the next N deliveries answer
 *                                   STATUS without being looked at or stored ({"fail_next":0} off)
 *   GET    /emulator/sink           {"received":[{"path","headers","data","at_ms"}...],
 *                                    "refused":N, "failed":N}, oldest first
 *   DELETE /emulator/sink           back to empty: nothing received, counters zero, not failing
 *
 * A delivery must be a binary-mode CloudEvent (CloudEvents HTTP binding v1.0.2 §3.1, core spec
 * v1.0.2): ce-specversion "1.0"; ce-id, ce-source, ce-type non-empty; ce-subject, ce-time,
 * ce-dataschema non-empty when present and ce-time an RFC 3339 timestamp; no ce-datacontenttype
 * (the Content-Type carries it); no header repeated; attribute names of [a-z0-9]. A ce-* value
 * is unquoted when it is a quoted-string, else it must hold only U+0021..U+007E without '"'
 * (space, '"', '%' and the rest are percent-encoded by the sender, §3.1.3.2); then it is
 * percent-decoded once, and what comes out must be UTF-8 without control characters. A
 * Content-Type of application/cloudevents... (structured or batched mode) is refused. With a
 * JSON Content-Type (application/json or a +json type) the body must be one JSON value (so an
 * empty body is refused).
 *
 * Kept per delivery: the path, the ce-* headers (lower-case names, decoded values), the
 * content-type and traceparent as sent, the body as "data" (the parsed JSON; else the text when it
 * is UTF-8, or "data_base64"; no member when the body is empty) and the wall clock in ms. The last
 * SINK_KEEP deliveries are kept. Thread-safe: one mutex over everything. */
#include "emu.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SINK_KEEP 10000
#define SINK_PATH "/emulator/sink"
#define SINK_WHY 512
#define SINK_NAME_MAX 128 /* an attribute name's length (the spec advises 20) */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *ring[SINK_KEEP]; /* the records, oldest at ring[head] */
static size_t head, kept;
static long accepted, refused, failed, fail_next;
static int fail_status = 503;

/* ---- header values (HTTP binding §3.1.3.2) ------------------------------------------------ */

/* RFC 7230 §3.2: the field value without the optional whitespace around it; its length. */
static size_t trim_ows(const char **v)
{
    while (**v == ' ' || **v == '\t')
        (*v)++;
    size_t n = strlen(*v);
    while (n && ((*v)[n - 1] == ' ' || (*v)[n - 1] == '\t'))
        n--;
    return n;
}

/* RFC 7230 §3.2.6: the quoted-string Q[0..N) (Q[0] is '"') unescaped into OUT (N bytes at
 * least). Returns the length, or -1 when it is malformed. */
static long unquote(const char *q, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c == '"')
            return i + 1 == n ? (long)o : -1;
        if (c == '\\' && ++i == n)
            return -1;
        c = (unsigned char)q[i];
        if (c < 0x20 && c != '\t')
            return -1;
        out[o++] = (char)c;
    }
    return -1; /* not closed */
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One round of %XX decoding of S[0..N) in place. Returns the new length, -1 on a bad escape. */
static long percent_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            s[o++] = s[i];
            continue;
        }
        int hi = i + 1 < n ? hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return -1;
        s[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    return (long)o;
}

/* Core spec "String": no U+0000..U+001F, U+007F..U+009F (S is valid UTF-8). */
static bool no_controls(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && i + 1 < n && s[i + 1] <= 0x9f))
            return false;
    return true;
}

/* The first byte of the unquoted value RAW that the sender must have percent-encoded (space,
 * '"', anything outside U+0021..U+007E), or -1. */
static long unencoded_at(const char *raw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c < 0x21 || c > 0x7e || c == '"')
            return (long)i;
    }
    return -1;
}

/* RAW[0..LEN) unquoted (a quoted-string) or checked, then percent-decoded once, into BUF (LEN
 * bytes at least). Returns the length, or -1 with WHY (naming header NAME) set. */
static long value_bytes(const char *name, const char *raw, size_t len, char *buf, char *why)
{
    long n = -1;
    if (len && raw[0] == '"') {
        n = unquote(raw, len, buf);
    } else {
        long at = unencoded_at(raw, len);
        if (at >= 0) {
            snprintf(why, SINK_WHY,
                     "header %s: byte 0x%02x at %ld must be percent-encoded (HTTP binding 3.1.3.2)",
                     name, (unsigned char)raw[at], at);
            return -1;
        }
        n = (long)len;
        memcpy(buf, raw, len);
    }
    if (n >= 0)
        n = percent_decode(buf, (size_t)n);
    if (n < 0)
        snprintf(why, SINK_WHY, "header %s: a bad quoted-string or percent-encoding (want %%XX)",
                 name);
    return n;
}

/* The header value RAW decoded: a new JSON string, or NULL with WHY (naming header NAME) set. */
static json_t *value_decode(const char *name, const char *raw, char *why)
{
    size_t len = trim_ows(&raw);
    char *buf = malloc(len + 1);
    if (!buf) {
        snprintf(why, SINK_WHY, "out of memory");
        return NULL;
    }
    long n = value_bytes(name, raw, len, buf, why);
    json_t *v = n >= 0 ? json_stringn(buf, (size_t)n) : NULL; /* NULL unless UTF-8 */
    if (n >= 0 && !v) {
        snprintf(why, SINK_WHY, "header %s: the percent-decoded value is not UTF-8", name);
    } else if (v && !no_controls((const unsigned char *)buf, (size_t)n)) {
        json_decref(v);
        v = NULL;
        snprintf(why, SINK_WHY, "header %s: the value holds a control character", name);
    }
    free(buf);
    return v;
}

/* ---- attributes --------------------------------------------------------------------------- */

static bool digits(const char *s, int n, int lo, int hi)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), T and Z in either case. */
static bool rfc3339_ok(const char *s)
{
    if (!digits(s, 4, 0, 9999) || s[4] != '-' || !digits(s + 5, 2, 1, 12) || s[7] != '-' ||
        !digits(s + 8, 2, 1, 31) || toupper((unsigned char)s[10]) != 'T' ||
        !digits(s + 11, 2, 0, 23) || s[13] != ':' || !digits(s + 14, 2, 0, 59) || s[16] != ':' ||
        !digits(s + 17, 2, 0, 60))
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (toupper((unsigned char)*p) == 'Z')
        return p[1] == '\0';
    return (*p == '+' || *p == '-') && digits(p + 1, 2, 0, 23) && p[3] == ':' &&
           digits(p + 4, 2, 0, 59) && p[6] == '\0';
}

/* What is wrong with the decoded attributes in HEADERS, into WHY; false when nothing. */
static bool attrs_wrong(const json_t *headers, char *why)
{
    const char *sv = json_string_value(json_object_get(headers, "ce-specversion"));
    if (!sv) {
        snprintf(why, SINK_WHY, "missing required header ce-specversion");
        return true;
    }
    if (strcmp(sv, "1.0") != 0) {
        snprintf(why, SINK_WHY, "ce-specversion is \"%.64s\", want \"1.0\"", sv);
        return true;
    }
    static const char *const required[] = {"ce-id", "ce-source", "ce-type"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const char *v = json_string_value(json_object_get(headers, required[i]));
        if (!v || !*v) {
            snprintf(why, SINK_WHY, "%s required header %s", v ? "empty" : "missing", required[i]);
            return true;
        }
    }
    static const char *const optional[] = {"ce-subject", "ce-time", "ce-dataschema"};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
        const char *v = json_string_value(json_object_get(headers, optional[i]));
        if (v && !*v) {
            snprintf(why, SINK_WHY, "empty header %s (must be non-empty when present)",
                     optional[i]);
            return true;
        }
    }
    const char *t = json_string_value(json_object_get(headers, "ce-time"));
    if (t && !rfc3339_ok(t)) {
        snprintf(why, SINK_WHY, "ce-time \"%.64s\" is not an RFC 3339 timestamp", t);
        return true;
    }
    return false;
}

/* ---- headers ------------------------------------------------------------------------------ */

typedef struct {
    json_t *headers; /* "ce-*" (decoded) and "content-type" */
    bool bad;
    char why[SINK_WHY];
} sink_walk;

/* "ce-NAME" lower-cased into OUT (SINK_NAME_MAX + 4 bytes); false when NAME is no attribute. */
static bool attr_header_name(const char *h, char *out)
{
    size_t n = strlen(h);
    if (n <= 3 || n - 3 > SINK_NAME_MAX)
        return false;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)h[i]);
    for (size_t i = 3; i < n; i++)
        if (!islower((unsigned char)out[i]) && !isdigit((unsigned char)out[i]))
            return false;
    return true;
}

/* Records the first problem only. */
static void walk_fail(sink_walk *w, const char *fmt, const char *arg)
{
    if (w->bad)
        return;
    w->bad = true;
    snprintf(w->why, sizeof w->why, fmt, arg);
}

/* NAME (lower case) may be kept: not repeated, not ce-datacontenttype. */
static bool walk_name_ok(sink_walk *w, const char *name)
{
    if (json_object_get(w->headers, name))
        walk_fail(w, "header %s is repeated", name);
    else if (strcmp(name, "ce-datacontenttype") == 0)
        walk_fail(w, "%s must not be sent: Content-Type carries it (HTTP binding 3.1.1)", name);
    return !w->bad;
}

/* One request header: keeps the ce-* and Content-Type ones, checks their names and values, and
 * keeps traceparent (the CloudEvents distributed-tracing extension in binary mode). */
static void walk_header(void *ctx, const char *name, const char *value)
{
    sink_walk *w = ctx;
    char lname[SINK_NAME_MAX + 4] = "content-type";
    bool ce = strncasecmp(name, "ce-", 3) == 0;
    if (!w->bad && strcasecmp(name, "traceparent") == 0) {
        if (walk_name_ok(w, "traceparent"))
            json_object_set_new(w->headers, "traceparent", json_string(value));
        return;
    }
    if (w->bad || (!ce && strcasecmp(name, "Content-Type") != 0))
        return;
    if (ce && !attr_header_name(name, lname)) {
        walk_fail(w, "header %.160s: an attribute name is 1-128 of [a-z0-9]", name);
        return;
    }
    if (!walk_name_ok(w, lname))
        return;
    size_t vlen = ce ? 0 : trim_ows(&value);
    json_t *v = ce ? value_decode(lname, value, w->why) : json_stringn(value, vlen);
    if (!v) {
        if (!ce)
            snprintf(w->why, sizeof w->why, "header content-type is not UTF-8");
        w->bad = true;
        return;
    }
    json_object_set_new(w->headers, lname, v);
}

/* ---- the body ----------------------------------------------------------------------------- */

/* The media type of CT (before any parameter, without spaces): its length; *ESS points at it. */
static size_t media_essence(const char *ct, const char **ess)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    *ess = ct;
    return n;
}

/* application/json or a +json type (application/problem+json). */
static bool content_type_json(const char *ct)
{
    if (!ct)
        return false;
    const char *e;
    size_t n = media_essence(ct, &e);
    return (n == 16 && strncasecmp(e, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(e + n - 5, "+json", 5) == 0);
}

/* HTTP binding §3: a Content-Type prefixed with application/cloudevents is structured (or
 * batched) mode. */
static bool content_type_cloudevents(const char *ct)
{
    const char *e;
    return ct && media_essence(ct, &e) >= 23 && strncasecmp(e, "application/cloudevents", 23) == 0;
}

/* The body as the record's data: parsed JSON, text or base64. NULL with WHY when a JSON
 * Content-Type holds no JSON (or on no memory). */
static json_t *body_data(const emu_request *req, const char *ct, char *why, const char **key)
{
    *key = "data";
    if (content_type_json(ct)) {
        json_error_t jerr;
        json_t *v =
            json_loadb(req->body, req->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!v)
            snprintf(why, SINK_WHY,
                     "the body is not JSON (Content-Type %.64s): %s at line %d column %d", ct,
                     jerr.text, jerr.line, jerr.column);
        return v;
    }
    json_t *text =
        memchr(req->body, '\0', req->body_len) ? NULL : json_stringn(req->body, req->body_len);
    if (text)
        return text;
    *key = "data_base64";
    size_t cap = sodium_base64_ENCODED_LEN(req->body_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    if (!b64) {
        snprintf(why, SINK_WHY, "out of memory");
        return NULL;
    }
    sodium_bin2base64(b64, cap, (const unsigned char *)req->body, req->body_len,
                      sodium_base64_VARIANT_ORIGINAL);
    json_t *v = json_string(b64);
    free(b64);
    return v;
}

/* ---- a delivery --------------------------------------------------------------------------- */

/* The ce-* and Content-Type headers of REQ, checked: a new object, or NULL with WHY set. */
static json_t *sink_headers(const emu_request *req, char *why)
{
    sink_walk w = {.headers = json_object()};
    if (req->each_header)
        req->each_header(req, walk_header, &w);
    const char *ct = json_string_value(json_object_get(w.headers, "content-type"));
    if (!w.bad && content_type_cloudevents(ct)) {
        w.bad = true;
        snprintf(w.why, sizeof w.why,
                 "Content-Type %.64s is structured or batched mode; the sink takes binary mode",
                 ct);
    }
    if (!w.bad && !attrs_wrong(w.headers, w.why))
        return w.headers;
    memcpy(why, w.why, SINK_WHY);
    json_decref(w.headers);
    return NULL;
}

/* Adds REQ's body to REC as its data (nothing when the body is empty); false with WHY set. */
static bool record_data(json_t *rec, const emu_request *req, const char *ct, char *why)
{
    if (!req->body_len && content_type_json(ct)) {
        snprintf(why, SINK_WHY, "the body is empty but Content-Type %.64s says JSON", ct);
        return false;
    }
    if (!req->body_len)
        return true;
    const char *key;
    json_t *data = body_data(req, ct, why, &key);
    return data && json_object_set_new(rec, key, data) == 0;
}

/* The record of REQ, or NULL with WHY (SINK_WHY bytes) saying what makes it no CloudEvent. */
static json_t *sink_record(const emu_request *req, char *why)
{
    json_t *headers = sink_headers(req, why);
    if (!headers)
        return NULL;
    const char *ct = json_string_value(json_object_get(headers, "content-type"));
    json_t *rec = json_object(), *path = json_string(req->path); /* NULL unless UTF-8 */
    json_object_set_new(rec, "path", path ? path : json_null());
    json_object_set_new(rec, "headers", headers); /* REC keeps CT alive */
    if (!record_data(rec, req, ct, why)) {
        json_decref(rec);
        return NULL;
    }
    json_object_set_new(rec, "at_ms", json_integer(emu_now_ms()));
    return rec;
}

static void sink_store(json_t *rec)
{
    pthread_mutex_lock(&mu);
    if (kept == SINK_KEEP) {
        json_decref(ring[head]);
        ring[head] = rec;
        head = (head + 1) % SINK_KEEP;
    } else {
        ring[(head + kept++) % SINK_KEEP] = rec;
    }
    accepted++;
    pthread_mutex_unlock(&mu);
}

/* Takes one planned failure: its status, or 0 when the sink is not failing. */
static int sink_take_failure(void)
{
    pthread_mutex_lock(&mu);
    int status = 0;
    if (fail_next > 0) {
        fail_next--;
        failed++;
        status = fail_status;
    }
    pthread_mutex_unlock(&mu);
    return status;
}

static const char *status_name(int status)
{
    switch (status) {
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 500:
        return "INTERNAL";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return status < 500 ? "FAILED_PRECONDITION" : "UNKNOWN";
    }
}

static void sink_deliver(const emu_request *req, emu_response *resp)
{
    int fail = sink_take_failure();
    if (fail) {
        emu_respond_error(resp, fail, status_name(fail),
                          "the sink fails this delivery on purpose (fail_next)");
        return;
    }
    char why[SINK_WHY];
    json_t *rec = sink_record(req, why);
    if (!rec) {
        pthread_mutex_lock(&mu);
        refused++;
        pthread_mutex_unlock(&mu);
        emu_respond_error(resp, 400, "INVALID_ARGUMENT", "not a binary-mode CloudEvent: %s", why);
        return;
    }
    sink_store(rec);
    resp->status = 204;
}

/* ---- control ------------------------------------------------------------------------------ */

/* {"fail_next":N, "status":S}: members left out are 0 and 503. False with WHY on a bad one. */
static bool config_parse(const json_t *body, long *n, int *status, char *why)
{
    *n = 0;
    *status = 503;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
        if (strcmp(key, "fail_next") == 0 && i >= 0 && i <= 1000000000)
            *n = (long)i;
        else if (strcmp(key, "status") == 0 && i >= 400 && i <= 599)
            *status = (int)i;
        else {
            snprintf(why, SINK_WHY,
                     "bad sink setting \"%.64s\" (want fail_next: a count, status: 400-599)", key);
            return false;
        }
    }
    return true;
}

static void sink_configure(const emu_request *req, emu_response *resp)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    long n;
    int status;
    char why[SINK_WHY];
    bool ok = config_parse(body, &n, &status, why);
    json_decref(body);
    if (!ok) {
        emu_respond_error(resp, 400, "INVALID_ARGUMENT", "%s", why);
        return;
    }
    pthread_mutex_lock(&mu);
    fail_next = n;
    fail_status = status;
    pthread_mutex_unlock(&mu);
    emu_respond_value(resp, 200,
                      json_pack("{s:I, s:i}", "fail_next", (json_int_t)n, "status", status));
}

/* Under the lock, so no record is freed while it is written out. */
static void sink_list(emu_response *resp)
{
    pthread_mutex_lock(&mu);
    json_t *received = json_array();
    for (size_t i = 0; i < kept; i++)
        json_array_append(received, ring[(head + i) % SINK_KEEP]);
    emu_respond_value(resp, 200,
                      json_pack("{s:o, s:I, s:I}", "received", received, "refused",
                                (json_int_t)refused, "failed", (json_int_t)failed));
    pthread_mutex_unlock(&mu);
}

static long sink_clear(void)
{
    pthread_mutex_lock(&mu);
    long n = (long)kept;
    for (size_t i = 0; i < kept; i++)
        json_decref(ring[(head + i) % SINK_KEEP]);
    head = kept = 0;
    accepted = refused = failed = fail_next = 0;
    fail_status = 503;
    pthread_mutex_unlock(&mu);
    return n;
}

static void sink_reset(void)
{
    sink_clear();
}

static void sink_stats(json_t *out)
{
    pthread_mutex_lock(&mu);
    json_object_set_new(out, "sink",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "stored", (json_int_t)kept,
                                  "accepted", (json_int_t)accepted, "refused", (json_int_t)refused,
                                  "failed", (json_int_t)failed, "fail_next",
                                  (json_int_t)fail_next));
    pthread_mutex_unlock(&mu);
}

static bool sink_handle(const emu_request *req, emu_response *resp)
{
    const char *p = req->path, *m = req->method;
    size_t n = sizeof SINK_PATH - 1;
    if (strncmp(p, SINK_PATH, n) != 0 || (p[n] != '\0' && p[n] != '/'))
        return false;
    bool exact = p[n] == '\0';
    if (strcmp(m, "POST") == 0 && strcmp(p + n, "/config") == 0) {
        resp->route = "emulator.sink_config";
        sink_configure(req, resp);
    } else if (strcmp(m, "POST") == 0) {
        resp->route = "emulator.sink";
        sink_deliver(req, resp);
    } else if (exact && strcmp(m, "GET") == 0) {
        resp->route = "emulator.sink_list";
        sink_list(resp);
    } else if (exact && strcmp(m, "DELETE") == 0) {
        resp->route = "emulator.sink_clear";
        emu_respond_value(resp, 200, json_pack("{s:I}", "cleared", (json_int_t)sink_clear()));
    } else {
        return false;
    }
    return true;
}

static void sink_shutdown(void)
{
    sink_clear();
}

const emu_service emu_sink_service = {
    .name = "sink",
    .handle = sink_handle,
    .reset = sink_reset,
    .stats = sink_stats,
    .shutdown = sink_shutdown,
};

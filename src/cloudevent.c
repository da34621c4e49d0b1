/* cloudevent — see cloudevent.h.
 *
 * Both content modes end in the same place: a list of (name, value) attributes is checked by
 * finish_event(), which sorts them into the fixed fields and the extensions, then enforces the
 * required set and the value rules. Binary mode builds that list from `ce-*` headers; structured
 * mode (and ce_from_json, the ledger's replay form) from the members of a JSON object.
 *
 * Anything echoed into an error message goes through echo(): at most 64 bytes, printable ASCII
 * only, so the message is always safe to put in JSON and in a log line.
 *
 * Data in structured mode: `data_base64` is decoded; `data` that is a JSON string is kept as the
 * string's bytes when datacontenttype says the payload is not JSON (text/plain, say); otherwise
 * `data` is re-serialized compactly. datacontenttype absent counts as application/json, and a
 * member whose value is null counts as omitted, both as the JSON event format says. ce_to_json()
 * writes `data` back only when that reproduces the exact bytes, and `data_base64` otherwise, so
 * ce_from_json(ce_to_json(ev)) is always ev. */
#include "cloudevent.h"

#include "http_request.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CE_NAME_MAX 20
#define CE_VALUE_MAX 4096
#define CE_ECHO_MAX 64

static const char structured_type[] = "application/cloudevents+json";

/* The attributes the spec defines, in the order ce_to_json() writes them. */
static const char *const core_names[] = {"specversion",     "id",         "source",  "type",
                                         "datacontenttype", "dataschema", "subject", "time"};
#define N_CORE (sizeof core_names / sizeof core_names[0])

static bool is_core(const char *name)
{
    for (size_t i = 0; i < N_CORE; i++)
        if (strcmp(core_names[i], name) == 0)
            return true;
    return false;
}

typedef struct {
    char *name;  /* arena, validated */
    char *value; /* arena, decoded, validated */
} attr;

__attribute__((format(printf, 4, 5))) static ce_status fail(char *err, size_t errlen, ce_status s,
                                                            const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* Copies at most CE_ECHO_MAX bytes of S into OUT (CE_ECHO_MAX + 4 bytes), replacing anything that
 * is not printable ASCII with '?' and marking a cut with "...". */
static const char *echo(char *out, const char *s, size_t n)
{
    size_t k = n < CE_ECHO_MAX ? n : CE_ECHO_MAX;
    for (size_t i = 0; i < k; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
    strcpy(out + k, n > k ? "..." : "");
    return out;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF) with no NUL. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static bool name_valid(const char *s, size_t n)
{
    if (n < 1 || n > CE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* HTTP binding §3.1.3.2: %XX escapes decoded, everything else kept. NULL on a bad escape. */
static char *percent_decode(arena *a, const char *s, size_t n, size_t *outlen, bool *nomem)
{
    char *out = arena_alloc(a, n + 1);
    if (!out) {
        *nomem = true;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[k++] = s[i];
            continue;
        }
        if (n - i < 3)
            return NULL;
        int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0)
            return NULL;
        out[k++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[k] = '\0';
    *outlen = k;
    return out;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), with field ranges checked. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool rfc3339_valid(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, oh, om;
    size_t n = strlen(s);
    if (n < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return false;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    return (*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' &&
           digits(p + 4, 2, &om) && p[6] == '\0' && oh <= 23 && om <= 59;
}

/* The essence of media type CT ("type/subtype" without parameters or blanks); sets *N. */
static const char *media_essence(const char *ct, size_t *n)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    *n = strcspn(ct, ";");
    while (*n > 0 && (ct[*n - 1] == ' ' || ct[*n - 1] == '\t'))
        (*n)--;
    return ct;
}

static bool media_type_is(const char *ct, const char *want)
{
    size_t n;
    ct = media_essence(ct, &n);
    return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

static bool media_type_prefix(const char *ct, const char *prefix)
{
    size_t n, k = strlen(prefix);
    ct = media_essence(ct, &n);
    return n >= k && strncasecmp(ct, prefix, k) == 0;
}

/* JSON format §3.1.1: a media type of the form type/json or type/subtype+json declares JSON
 * content, and an absent datacontenttype means application/json. */
static bool content_type_is_json(const char *ct)
{
    if (!ct)
        return true;
    size_t n;
    ct = media_essence(ct, &n);
    return n >= 5 &&
           (strncasecmp(ct + n - 5, "/json", 5) == 0 || strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* Checks an attribute value's size and encoding. */
static ce_status value_check(const char *name, const char *v, size_t n, char *err, size_t errlen)
{
    if (n > CE_VALUE_MAX)
        return fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" is longer than %d bytes", name,
                    CE_VALUE_MAX);
    if (!utf8_valid((const unsigned char *)v, n))
        return fail(err, errlen, CE_ERR_INVALID,
                    "attribute \"%s\" is not valid UTF-8 or contains a NUL", name);
    return CE_OK;
}

/* Sorts the collected attributes into OUT and enforces the spec's rules. The attributes' names
 * are valid and unique, their values valid UTF-8 within the size limit. */
static ce_status finish_event(const attr *attrs, size_t n, arena *a, cloudevent *out, char *err,
                              size_t errlen)
{
    struct {
        const char *name;
        const char **slot;
        bool required;
    } known[] = {
        {"specversion", &out->specversion, true},
        {"id", &out->id, true},
        {"source", &out->source, true},
        {"type", &out->type, true},
        {"datacontenttype", &out->datacontenttype, false},
        {"dataschema", &out->dataschema, false},
        {"subject", &out->subject, false},
        {"time", &out->time, false},
    };
    const size_t n_known = sizeof known / sizeof known[0];
    ce_attr *ext = arena_alloc(a, (n ? n : 1) * sizeof *ext);
    if (!ext)
        return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    size_t n_ext = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < n_known && strcmp(known[k].name, attrs[i].name) != 0)
            k++;
        if (k < n_known) {
            *known[k].slot = attrs[i].value;
        } else {
            ext[n_ext].name = attrs[i].name;
            ext[n_ext].value = attrs[i].value;
            n_ext++;
        }
    }
    char buf[CE_ECHO_MAX + 4];
    if (!out->specversion)
        return fail(err, errlen, CE_ERR_MISSING, "missing required attribute \"specversion\"");
    if (strcmp(out->specversion, "1.0") != 0)
        return fail(err, errlen, CE_ERR_SPECVERSION,
                    "unsupported specversion \"%s\"; only \"1.0\" is supported",
                    echo(buf, out->specversion, strlen(out->specversion)));
    for (size_t k = 0; k < n_known; k++) {
        const char *v = *known[k].slot;
        if (!v && known[k].required)
            return fail(err, errlen, CE_ERR_MISSING, "missing required attribute \"%s\"",
                        known[k].name);
        if (v && !*v)
            return fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" must not be empty",
                        known[k].name);
    }
    if (out->time && !rfc3339_valid(out->time))
        return fail(err, errlen, CE_ERR_INVALID,
                    "attribute \"time\" is not an RFC 3339 timestamp: \"%s\"",
                    echo(buf, out->time, strlen(out->time)));
    out->extensions = ext;
    out->n_extensions = n_ext;
    return CE_OK;
}

/* ---- binary mode ------------------------------------------------------------------------ */

static ce_status parse_binary(const http_request *req, arena *a, cloudevent *out, char *err,
                              size_t errlen)
{
    char buf[CE_ECHO_MAX + 4];
    attr *attrs = arena_alloc(a, (req->n_headers + 1) * sizeof *attrs);
    if (!attrs)
        return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    size_t n = 0;
    bool have_specversion = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *hname = req->headers[i].name;
        if (strncasecmp(hname, "ce-", 3) == 0 && strcasecmp(hname + 3, "specversion") == 0)
            have_specversion = true;
    }
    if (!have_specversion)
        return fail(err, errlen, CE_ERR_MISSING,
                    "missing required attribute \"specversion\" (no ce-specversion header and "
                    "the Content-Type is not %s)",
                    structured_type);
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *hname = req->headers[i].name, *raw = req->headers[i].value;
        if (strncasecmp(hname, "ce-", 3) != 0)
            continue;
        size_t nlen = strlen(hname + 3);
        char *name = arena_strndup(a, hname + 3, nlen);
        if (!name)
            return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!name_valid(name, nlen))
            return fail(err, errlen, CE_ERR_INVALID,
                        "header \"%s\": an attribute name must be 1-%d characters of [a-z0-9]",
                        echo(buf, hname, strlen(hname)), CE_NAME_MAX);
        if (strcmp(name, "data") == 0 || strcmp(name, "datacontenttype") == 0)
            return fail(err, errlen, CE_ERR_INVALID,
                        "header \"ce-%s\" is not allowed: binary mode carries %s", name,
                        name[4] ? "datacontenttype in Content-Type" : "data in the body");
        for (size_t k = 0; k < n; k++)
            if (strcmp(attrs[k].name, name) == 0)
                return fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" appears more than once",
                            name);
        size_t rawlen = strlen(raw), vlen = 0;
        if (rawlen > CE_VALUE_MAX)
            return fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" is longer than %d bytes",
                        name, CE_VALUE_MAX);
        bool nomem = false;
        char *value = percent_decode(a, raw, rawlen, &vlen, &nomem);
        if (nomem)
            return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        if (!value)
            return fail(err, errlen, CE_ERR_INVALID,
                        "attribute \"%s\" has a bad percent-encoding (want %%XX with two hex "
                        "digits)",
                        name);
        ce_status s = value_check(name, value, vlen, err, errlen);
        if (s != CE_OK)
            return s;
        attrs[n].name = name;
        attrs[n].value = value;
        n++;
    }
    const char *ct = http_header_get(req, "content-type");
    if (ct && *ct) {
        ce_status s = value_check("datacontenttype", ct, strlen(ct), err, errlen);
        if (s != CE_OK)
            return s;
        attrs[n].name = "datacontenttype";
        if (!(attrs[n].value = arena_strdup(a, ct)))
            return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        n++;
    }
    ce_status s = finish_event(attrs, n, a, out, err, errlen);
    if (s != CE_OK)
        return s;
    if (req->body_len > 0) {
        unsigned char *data = arena_alloc(a, req->body_len);
        if (!data)
            return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        memcpy(data, req->body, req->body_len);
        out->data = data;
        out->data_len = req->body_len;
    }
    return CE_OK;
}

/* ---- structured mode and the JSON form ------------------------------------------------------ */

/* An attribute's value as text: strings as they are; integers (32-bit, as the spec's Integer)
 * and booleans, allowed for extensions only, rendered. NULL with *st set on error. */
static char *json_attr_text(const char *name, const json_t *v, bool is_ext, arena *a, ce_status *st,
                            char *err, size_t errlen)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if ((*st = value_check(name, s, n, err, errlen)) != CE_OK)
            return NULL;
        char *copy = arena_strndup(a, s, n);
        if (!copy)
            *st = fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        return copy;
    }
    if (is_ext && json_is_integer(v) &&
        (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)) {
        *st = fail(err, errlen, CE_ERR_INVALID,
                   "attribute \"%s\" is outside the CloudEvents Integer range (32 bits)", name);
        return NULL;
    }
    if (is_ext && (json_is_integer(v) || json_is_boolean(v))) {
        char *t = json_is_integer(v)
                      ? arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v))
                      : arena_strdup(a, json_is_true(v) ? "true" : "false");
        if (!t)
            *st = fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        return t;
    }
    *st = fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" must be a string%s", name,
               is_ext ? ", an integer or a boolean" : "");
    return NULL;
}

static ce_status data_from_json(const json_t *data, const json_t *b64, cloudevent *out, arena *a,
                                char *err, size_t errlen)
{
    if (data && b64)
        return fail(err, errlen, CE_ERR_INVALID,
                    "an event has \"data\" or \"data_base64\", not both");
    if (b64) {
        if (!json_is_string(b64))
            return fail(err, errlen, CE_ERR_INVALID, "\"data_base64\" must be a string");
        const char *s = json_string_value(b64), *end = NULL;
        size_t n = json_string_length(b64), len = 0;
        unsigned char *bin = arena_alloc(a, n / 4 * 3 + 1);
        if (!bin)
            return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        if (sodium_base642bin(bin, n / 4 * 3 + 1, s, n, NULL, &len, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            end != s + n)
            return fail(err, errlen, CE_ERR_INVALID, "\"data_base64\" is not valid base64");
        out->data = bin;
        out->data_len = len;
        return CE_OK;
    }
    if (!data)
        return CE_OK;
    if (json_is_string(data) && !content_type_is_json(out->datacontenttype)) {
        size_t n = json_string_length(data);
        char *s = arena_strndup(a, json_string_value(data), n);
        if (!s)
            return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        out->data = (const unsigned char *)s;
        out->data_len = n;
        return CE_OK;
    }
    size_t n = json_dumpb(data, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    unsigned char *buf = n ? arena_alloc(a, n) : NULL;
    if (!buf || json_dumpb(data, (char *)buf, n, JSON_COMPACT | JSON_ENCODE_ANY) != n)
        return fail(err, errlen, CE_ERR_NOMEM, "could not serialize \"data\"");
    out->data = buf;
    out->data_len = n;
    return CE_OK;
}

ce_status ce_from_json(const json_t *obj, arena *a, cloudevent *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return fail(err, errlen, CE_ERR_INVALID, "a structured event must be a JSON object");
    char buf[CE_ECHO_MAX + 4];
    attr *attrs = arena_alloc(a, (json_object_size(obj) + 1) * sizeof *attrs);
    if (!attrs)
        return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    size_t n = 0;
    const json_t *data = NULL, *b64 = NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strcmp(key, "data") == 0) {
            data = v;
            continue;
        }
        if (strcmp(key, "data_base64") == 0) {
            b64 = v;
            continue;
        }
        if (!name_valid(key, strlen(key)))
            return fail(err, errlen, CE_ERR_INVALID,
                        "member \"%s\": an attribute name must be 1-%d characters of [a-z0-9]",
                        echo(buf, key, strlen(key)), CE_NAME_MAX);
        if (json_is_null(v)) /* JSON format §2.2: null is the same as omitted */
            continue;
        bool is_ext = !is_core(key);
        ce_status st = CE_OK;
        char *text = json_attr_text(key, v, is_ext, a, &st, err, errlen);
        if (!text)
            return st;
        if (!(attrs[n].name = arena_strdup(a, key)))
            return fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        attrs[n].value = text;
        n++;
    }
    ce_status s = finish_event(attrs, n, a, out, err, errlen);
    if (s == CE_OK)
        s = data_from_json(data, b64, out, a, err, errlen);
    if (s != CE_OK)
        memset(out, 0, sizeof *out);
    return s;
}

static ce_status parse_structured(const http_request *req, arena *a, cloudevent *out, char *err,
                                  size_t errlen)
{
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        char buf[CE_ECHO_MAX + 4];
        return fail(err, errlen, CE_ERR_INVALID,
                    "the body is not a valid JSON object (line %d, column %d: %s)", jerr.line,
                    jerr.column, echo(buf, jerr.text, strlen(jerr.text)));
    }
    ce_status s = ce_from_json(obj, a, out, err, errlen);
    json_decref(obj);
    out->structured = s == CE_OK;
    return s;
}

ce_status ce_parse_http(const http_request *req, arena *a, cloudevent *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    const char *ct = http_header_get(req, "content-type");
    if (ct && media_type_is(ct, structured_type))
        return parse_structured(req, a, out, err, errlen);
    if (ct && media_type_prefix(ct, "application/cloudevents-batch"))
        return fail(err, errlen, CE_ERR_BATCH,
                    "batched mode (application/cloudevents-batch+json) is not supported; send one "
                    "event per request");
    if (ct && (media_type_prefix(ct, "application/cloudevents+") ||
               media_type_is(ct, "application/cloudevents"))) {
        char buf[CE_ECHO_MAX + 4];
        return fail(err, errlen, CE_ERR_CONTENT_TYPE,
                    "unsupported structured format \"%s\"; only %s is supported",
                    echo(buf, ct, strcspn(ct, ";")), structured_type);
    }
    ce_status s = parse_binary(req, a, out, err, errlen);
    if (s != CE_OK)
        memset(out, 0, sizeof *out);
    return s;
}

const char *ce_extension(const cloudevent *ev, const char *name)
{
    for (size_t i = 0; i < ev->n_extensions; i++)
        if (strcmp(ev->extensions[i].name, name) == 0)
            return ev->extensions[i].value;
    return NULL;
}

/* The payload as a JSON value that data_from_json() turns back into the same bytes, or NULL when
 * only data_base64 can carry them. */
static json_t *data_as_json(const cloudevent *ev)
{
    if (!content_type_is_json(ev->datacontenttype))
        return utf8_valid(ev->data, ev->data_len)
                   ? json_stringn((const char *)ev->data, ev->data_len)
                   : NULL;
    json_t *v = json_loadb((const char *)ev->data, ev->data_len,
                           JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (!v)
        return NULL;
    char *again = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    bool same =
        again && strlen(again) == ev->data_len && memcmp(again, ev->data, ev->data_len) == 0;
    free(again);
    if (!same) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *data_as_base64(const cloudevent *ev)
{
    size_t n = sodium_base64_ENCODED_LEN(ev->data_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(n);
    if (!b64)
        return NULL;
    sodium_bin2base64(b64, n, ev->data, ev->data_len, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_string(b64);
    free(b64);
    return s;
}

json_t *ce_to_json(const cloudevent *ev)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    const char *values[N_CORE] = {ev->specversion,     ev->id,         ev->source,  ev->type,
                                  ev->datacontenttype, ev->dataschema, ev->subject, ev->time};
    int rc = 0;
    for (size_t i = 0; i < N_CORE; i++)
        if (values[i])
            rc |= json_object_set_new(obj, core_names[i], json_string(values[i]));
    for (size_t i = 0; i < ev->n_extensions; i++)
        rc |=
            json_object_set_new(obj, ev->extensions[i].name, json_string(ev->extensions[i].value));
    if (ev->data) {
        json_t *d = data_as_json(ev);
        if (d)
            rc |= json_object_set_new(obj, "data", d);
        else
            rc |= json_object_set_new(obj, "data_base64", data_as_base64(ev));
    }
    if (rc != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static const struct {
    const char *code;
    int http;
} statuses[] = {
    [CE_OK] = {"ok", 200},
    [CE_ERR_MISSING] = {"missing_attribute", 400},
    [CE_ERR_INVALID] = {"invalid_event", 400},
    [CE_ERR_SPECVERSION] = {"unsupported_specversion", 400},
    [CE_ERR_BATCH] = {"batch_not_supported", 415},
    [CE_ERR_CONTENT_TYPE] = {"unsupported_content_type", 415},
    [CE_ERR_NOMEM] = {"internal", 500},
};

const char *ce_status_code(ce_status s)
{
    return (size_t)s < sizeof statuses / sizeof statuses[0] ? statuses[s].code : "internal";
}

int ce_status_http(ce_status s)
{
    return (size_t)s < sizeof statuses / sizeof statuses[0] ? statuses[s].http : 500;
}

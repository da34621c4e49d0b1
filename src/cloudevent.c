/* cloudevent — see cloudevent.h.
 *
 * Both content modes end in the same place: a list of (name, value) attributes is checked by
 * finish_event(), which sorts them into the fixed fields and the extensions, then enforces the
 * required set and the value rules. Binary mode builds that list from `ce-*` headers; structured
 * mode (and ce_from_json, the ledger's replay form) from the members of a JSON object.
 *
 * Anything of the request's echoed into an error message goes through the printable policy
 * (printable.h): at most 64 bytes, escaped, so the message is always safe in JSON and a log line.
 *
 * Values are checked by type (core spec, "Type System"): every value is a String (UTF-8 without
 * control characters or noncharacters); source is also a URI-reference, dataschema an absolute
 * URI, time an RFC 3339 timestamp, datacontenttype an RFC 2046 media type. Media types, the
 * structured and batched Content-Types included, are parsed by media_type.h, case-insensitively.
 *
 * Data in structured mode: `data_base64` is decoded; `data` that is a JSON string is kept as the
 * string's bytes when datacontenttype says the payload is not JSON (text/plain, say); otherwise
 * `data` is re-serialized compactly. datacontenttype absent counts as application/json, and a
 * member whose value is null counts as omitted, both as the JSON event format says. ce_to_json()
 * writes `data` back only when that reproduces the exact bytes, and `data_base64` otherwise, so
 * ce_from_json(ce_to_json(ev)) is always ev. */
#include "cloudevent.h"

#include "errtext.h"
#include "http_request.h"
#include "media_type.h"
#include "pct.h"
#include "printable.h"
#include "uri.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CE_NAME_MAX 128 /* ours: the spec only advises names of at most 20 characters */
#define CE_VALUE_MAX 4096

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

static bool name_valid(const char *s, size_t n)
{
    if (n < 1 || n > CE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* HTTP binding §3.1.3.2: a header value is first unescaped as an RFC 7230 §3.2.6 quoted-string.
 * Only a value that starts with DQUOTE is one, and then it must be exactly one (closed, nothing
 * after it); a quote inside another value is kept, as senders before v1.0.2 did not encode it.
 * Sets *S and *N to the unquoted text; false when the quoted-string is malformed. */
static bool unquote(arena *a, const char **s, size_t *n, bool *nomem)
{
    const char *v = *s;
    if (*n == 0 || v[0] != '"')
        return true;
    char *out = arena_alloc(a, *n);
    if (!out) {
        *nomem = true;
        return false;
    }
    size_t k = 0;
    for (size_t i = 1; i < *n; i++) {
        if (v[i] == '"') {
            if (i + 1 != *n)
                return false;
            *s = out;
            *n = k;
            return true;
        }
        if (v[i] == '\\' && ++i == *n)
            return false;
        out[k++] = v[i];
    }
    return false; /* never closed */
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

/* JSON format §3.1.1: a media type of the form type/json or type/subtype+json declares JSON
 * content, and an absent datacontenttype means application/json. */
static bool content_type_is_json(const char *ct)
{
    return !ct || media_type_str_is_json(ct);
}

/* Checks an attribute value against the String type (core spec, "Type System"): UTF-8 without
 * the control characters U+0000-U+001F and U+007F-U+009F and without noncharacters (surrogates
 * cannot occur in valid UTF-8); and against our size limit. */
static ce_status value_check(const char *name, const char *v, size_t n, char *err, size_t errlen)
{
    if (n > CE_VALUE_MAX)
        return errtext_fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" is longer than %d bytes",
                            name, CE_VALUE_MAX);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = prt_utf8_next(v + i, n - i, &cp);
        if (k == 0)
            return errtext_fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" is not valid UTF-8",
                                name);
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return errtext_fail(err, errlen, CE_ERR_INVALID,
                                "attribute \"%s\" contains the control character U+%04X, which a "
                                "CloudEvents String does not allow",
                                name, (unsigned)cp);
        if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
            return errtext_fail(
                err, errlen, CE_ERR_INVALID,
                "attribute \"%s\" contains the noncharacter U+%04X, which a CloudEvents "
                "String does not allow",
                name, (unsigned)cp);
        i += k;
    }
    return CE_OK;
}

/* The types beyond String: source, dataschema, datacontenttype, time. */
static ce_status type_check(const cloudevent *ev, char *err, size_t errlen)
{
    char buf[PRT_ECHO_SIZE];
    if (!uri_reference_valid(ev->source))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "attribute \"source\" is not a URI-reference (RFC 3986 §4.1): \"%s\"",
                            prt_str(buf, sizeof buf, ev->source));
    if (ev->dataschema && !uri_absolute_valid(ev->dataschema))
        return errtext_fail(
            err, errlen, CE_ERR_INVALID,
            "attribute \"dataschema\" is not an absolute URI (RFC 3986 §4.3): \"%s\"",
            prt_str(buf, sizeof buf, ev->dataschema));
    media_type mt;
    if (ev->datacontenttype && !media_type_parse(ev->datacontenttype, &mt))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "attribute \"datacontenttype\" is not a media type (RFC 2046): \"%s\"",
                            prt_str(buf, sizeof buf, ev->datacontenttype));
    if (ev->time && !rfc3339_valid(ev->time))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "attribute \"time\" is not an RFC 3339 timestamp: \"%s\"",
                            prt_str(buf, sizeof buf, ev->time));
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
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
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
    char buf[PRT_ECHO_SIZE];
    if (!out->specversion)
        return errtext_fail(err, errlen, CE_ERR_MISSING,
                            "missing required attribute \"specversion\"");
    if (strcmp(out->specversion, "1.0") != 0)
        return errtext_fail(err, errlen, CE_ERR_SPECVERSION,
                            "attribute \"specversion\" is \"%s\"; only \"1.0\" is supported",
                            prt_str(buf, sizeof buf, out->specversion));
    for (size_t k = 0; k < n_known; k++) {
        const char *v = *known[k].slot;
        if (!v && known[k].required)
            return errtext_fail(err, errlen, CE_ERR_MISSING, "missing required attribute \"%s\"",
                                known[k].name);
        if (v && !*v)
            return errtext_fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" must not be empty",
                                known[k].name);
    }
    ce_status s = type_check(out, err, errlen);
    if (s != CE_OK)
        return s;
    out->extensions = ext;
    out->n_extensions = n_ext;
    return CE_OK;
}

/* ---- binary mode ------------------------------------------------------------------------ */

static ce_status parse_binary(const http_request *req, arena *a, cloudevent *out, char *err,
                              size_t errlen)
{
    char buf[PRT_ECHO_SIZE];
    attr *attrs = arena_alloc(a, (req->n_headers + 1) * sizeof *attrs);
    if (!attrs)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    size_t n = 0;
    bool have_specversion = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *hname = req->headers[i].name;
        if (strncasecmp(hname, "ce-", 3) == 0 && strcasecmp(hname + 3, "specversion") == 0)
            have_specversion = true;
    }
    if (!have_specversion)
        return errtext_fail(
            err, errlen, CE_ERR_MISSING,
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
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!name_valid(name, nlen))
            return errtext_fail(
                err, errlen, CE_ERR_INVALID,
                "header \"%s\": an attribute name must be 1-%d characters of [a-z0-9]",
                prt_str(buf, sizeof buf, hname), CE_NAME_MAX);
        if (strcmp(name, "data") == 0 || strcmp(name, "datacontenttype") == 0)
            return errtext_fail(
                err, errlen, CE_ERR_INVALID,
                "header \"ce-%s\" is not allowed: binary mode carries attribute \"%s\" %s", name,
                name, name[4] ? "in Content-Type" : "in the body");
        for (size_t k = 0; k < n; k++)
            if (strcmp(attrs[k].name, name) == 0)
                return errtext_fail(err, errlen, CE_ERR_INVALID,
                                    "attribute \"%s\" appears more than once", name);
        size_t rawlen = strlen(raw), vlen = 0;
        if (rawlen > CE_VALUE_MAX)
            return errtext_fail(err, errlen, CE_ERR_INVALID,
                                "attribute \"%s\" is longer than %d bytes", name, CE_VALUE_MAX);
        bool nomem = false;
        if (!unquote(a, &raw, &rawlen, &nomem))
            return nomem ? errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory")
                         : errtext_fail(
                               err, errlen, CE_ERR_INVALID,
                               "attribute \"%s\" starts a quoted-string that is not closed at "
                               "the end of the value (RFC 7230 §3.2.6)",
                               name);
        char *value = pct_decode(a, raw, rawlen, PCT_PLAIN, &vlen, &nomem);
        if (nomem)
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        if (!value)
            return errtext_fail(
                err, errlen, CE_ERR_INVALID,
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
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        n++;
    }
    ce_status s = finish_event(attrs, n, a, out, err, errlen);
    if (s != CE_OK)
        return s;
    if (req->body_len > 0) {
        unsigned char *data = arena_alloc(a, req->body_len);
        if (!data)
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
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
            *st = errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        return copy;
    }
    if (is_ext && json_is_integer(v) &&
        (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)) {
        *st = errtext_fail(err, errlen, CE_ERR_INVALID,
                           "attribute \"%s\" is outside the CloudEvents Integer range (32 bits)",
                           name);
        return NULL;
    }
    if (is_ext && (json_is_integer(v) || json_is_boolean(v))) {
        char *t = json_is_integer(v)
                      ? arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v))
                      : arena_strdup(a, json_is_true(v) ? "true" : "false");
        if (!t)
            *st = errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        return t;
    }
    *st = errtext_fail(err, errlen, CE_ERR_INVALID, "attribute \"%s\" must be a string%s", name,
                       is_ext ? ", an integer or a boolean" : "");
    return NULL;
}

static ce_status data_from_json(const json_t *data, const json_t *b64, cloudevent *out, arena *a,
                                char *err, size_t errlen)
{
    if (data && b64)
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "an event has \"data\" or \"data_base64\", not both");
    if (b64) {
        if (!json_is_string(b64))
            return errtext_fail(err, errlen, CE_ERR_INVALID, "\"data_base64\" must be a string");
        const char *s = json_string_value(b64), *end = NULL;
        size_t n = json_string_length(b64), len = 0;
        unsigned char *bin = arena_alloc(a, n / 4 * 3 + 1);
        if (!bin)
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        if (sodium_base642bin(bin, n / 4 * 3 + 1, s, n, NULL, &len, &end,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            end != s + n)
            return errtext_fail(err, errlen, CE_ERR_INVALID, "\"data_base64\" is not valid base64");
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
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        out->data = (const unsigned char *)s;
        out->data_len = n;
        return CE_OK;
    }
    size_t n = json_dumpb(data, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    unsigned char *buf = n ? arena_alloc(a, n) : NULL;
    if (!buf || json_dumpb(data, (char *)buf, n, JSON_COMPACT | JSON_ENCODE_ANY) != n)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "could not serialize \"data\"");
    out->data = buf;
    out->data_len = n;
    return CE_OK;
}

ce_status ce_from_json(const json_t *obj, arena *a, cloudevent *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "a structured event must be a JSON object");
    char buf[PRT_ECHO_SIZE];
    attr *attrs = arena_alloc(a, (json_object_size(obj) + 1) * sizeof *attrs);
    if (!attrs)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
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
            b64 = json_is_null(v) ? NULL : v; /* null: no data_base64, as for attributes */
            continue;
        }
        if (!name_valid(key, strlen(key)))
            return errtext_fail(
                err, errlen, CE_ERR_INVALID,
                "member \"%s\": an attribute name must be 1-%d characters of [a-z0-9]",
                prt_str(buf, sizeof buf, key), CE_NAME_MAX);
        if (json_is_null(v)) /* JSON format §2.2: null is the same as omitted */
            continue;
        bool is_ext = !is_core(key);
        ce_status st = CE_OK;
        char *text = json_attr_text(key, v, is_ext, a, &st, err, errlen);
        if (!text)
            return st;
        if (!(attrs[n].name = arena_strdup(a, key)))
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
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

/* jansson reports a duplicate key as "duplicate object key near '<the key as a JSON string>'":
 * the key, decoded, or NULL. */
static const char *duplicate_key(const json_error_t *jerr, arena *a)
{
    const char *near = strstr(jerr->text, "near '");
    size_t n = near ? strlen(near + 6) : 0;
    if (n < 3 || near[6 + n - 1] != '\'')
        return NULL;
    json_t *k = json_loadb(near + 6, n - 1, JSON_DECODE_ANY, NULL);
    const char *key = json_is_string(k) ? arena_strdup(a, json_string_value(k)) : NULL;
    json_decref(k);
    return key;
}

static ce_status parse_structured(const http_request *req, arena *a, cloudevent *out, char *err,
                                  size_t errlen)
{
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        char buf[PRT_ECHO_SIZE];
        const char *key =
            json_error_code(&jerr) == json_error_duplicate_key ? duplicate_key(&jerr, a) : NULL;
        if (key)
            return errtext_fail(err, errlen, CE_ERR_INVALID,
                                "attribute \"%s\" appears more than once",
                                prt_str(buf, sizeof buf, key));
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "the body is not a valid JSON object (line %d, column %d: %s)",
                            jerr.line, jerr.column, prt_str(buf, sizeof buf, jerr.text));
    }
    ce_status s = ce_from_json(obj, a, out, err, errlen);
    json_decref(obj);
    out->structured = s == CE_OK;
    return s;
}

/* HTTP binding §3: the Content-Type chooses the mode. application/cloudevents (alone or with a
 * "+format" suffix) is structured mode, application/cloudevents-batch batched mode, anything
 * else binary mode. Refuses what we cannot take: batches, formats other than JSON, a JSON event
 * in a charset other than UTF-8 (RFC 8259 §8.1; US-ASCII is a subset), and a Content-Type that
 * names CloudEvents but is no media type. CE_OK means structured JSON or binary mode. */
static ce_status content_mode(const char *ct, char *err, size_t errlen)
{
    char buf[PRT_ECHO_SIZE];
    media_type mt;
    if (!ct)
        return CE_OK;
    if (!media_type_parse(ct, &mt)) {
        const char *p = ct + strspn(ct, " \t");
        if (strncasecmp(p, "application/cloudevents", 23) != 0)
            return CE_OK; /* binary mode: the datacontenttype check names it */
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "header \"Content-Type\" is not a media type (RFC 9110 §8.3.1): \"%s\"",
                            prt_str(buf, sizeof buf, ct));
    }
    if (!media_type_is(&mt, "application", "*"))
        return CE_OK;
    const char *sub = mt.subtype;
    size_t n = mt.subtype_len;
    /* "cloudevents" or "cloudevents+FORMAT", not merely a subtype that starts so. */
    bool batch =
        media_type_subtype_has_prefix(&mt, "cloudevents-batch") && (n == 17 || sub[17] == '+');
    bool single = media_type_subtype_has_prefix(&mt, "cloudevents") && (n == 11 || sub[11] == '+');
    if (batch)
        return errtext_fail(
            err, errlen, CE_ERR_BATCH,
            "batched mode (application/cloudevents-batch+json) is not supported; send one "
            "event per request");
    if (!single)
        return CE_OK;
    if (!media_type_is(&mt, "application", "cloudevents+json"))
        return errtext_fail(err, errlen, CE_ERR_CONTENT_TYPE,
                            "unsupported structured format \"%s\"; only %s is supported",
                            prt_text(buf, sizeof buf, mt.type, mt.type_len + 1 + mt.subtype_len),
                            structured_type);
    char charset[PRT_ECHO_SIZE]; /* a longer value, cut, is no charset we accept */
    const char *cs = media_type_param(&mt, "charset", charset, sizeof charset);
    if (cs && strcasecmp(cs, "utf-8") != 0 && strcasecmp(cs, "us-ascii") != 0)
        return errtext_fail(
            err, errlen, CE_ERR_CONTENT_TYPE,
            "charset \"%s\" is not supported: a JSON event is UTF-8 (RFC 8259 §8.1)",
            prt_str(buf, sizeof buf, cs));
    return CE_OK;
}

ce_status ce_parse_http(const http_request *req, arena *a, cloudevent *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    const char *ct = http_header_get(req, "content-type");
    ce_status s = content_mode(ct, err, errlen);
    if (s == CE_OK && ct && media_type_str_is(ct, "application", "cloudevents+json"))
        return parse_structured(req, a, out, err, errlen);
    if (s == CE_OK)
        s = parse_binary(req, a, out, err, errlen);
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
        return prt_utf8_valid(ev->data, ev->data_len)
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

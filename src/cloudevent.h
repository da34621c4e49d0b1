/* cloudevent — CloudEvents v1.0.2: the HTTP protocol binding (binary and structured content
 * modes) and the JSON event format.
 *
 * Modes (HTTP binding §3), by Content-Type, parsed as a media type (any case, any spacing around
 * ";"): application/cloudevents+json is structured mode, with a charset, if any, of UTF-8 or
 * US-ASCII (another: CE_ERR_CONTENT_TYPE, 415); application/cloudevents-batch[+...] is batched
 * mode, refused with CE_ERR_BATCH (415); any other application/cloudevents[+...] format is
 * CE_ERR_CONTENT_TYPE (415); a Content-Type that names CloudEvents but is no media type is
 * CE_ERR_INVALID. Anything else is binary mode.
 * Binary mode: attributes in `ce-*` headers (names matched case-insensitively); a value is first
 * unquoted when it is a quoted-string (it starts with a double quote), then percent-decoded once;
 * datacontenttype is the Content-Type (an empty one counts as absent); the body is the data;
 * ce-datacontenttype, ce-data and a repeated attribute are invalid.
 * Structured mode: the body is one JSON object holding the attributes and `data` (any JSON) or
 * `data_base64`, not both; duplicate members are invalid; a member that is null is omitted.
 *
 * Attributes: id, source, specversion ("1.0"), type are required and non-empty; so is every
 * optional one that is present. Names are 1..128 characters of [a-z0-9] (the spec advises 20 at
 * most; 128 is ours). Values (the core spec's type system): every value is a String — valid
 * UTF-8 without the control characters U+0000..U+001F, U+007F..U+009F or noncharacters — of at
 * most 4096 bytes (ours); source is a URI-reference and dataschema an absolute URI (RFC 3986),
 * datacontenttype an RFC 2046 media type, time an RFC 3339 timestamp. In structured mode core
 * attributes are JSON strings; extensions may also be 32-bit integers or booleans (kept as their
 * text). Extension attributes are kept (Cloud Storage sends `bucket`).
 *
 * Data: the binary-mode body as it came (NULL when the body is empty). In structured mode
 * `data_base64` decoded; `data` that is a JSON string with a non-JSON datacontenttype (text/plain)
 * kept as the string's bytes; any other `data` re-serialized compactly (an absent datacontenttype
 * means application/json).
 *
 * Memory: everything a parsed event points to lives in the arena passed to ce_parse_http(). */
#ifndef RT_CLOUDEVENT_H
#define RT_CLOUDEVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* Forward-declared, not included: a function that handles events needs no HTTP types. */
struct http_request;

typedef struct {
    const char *name; /* lower-case attribute name */
    const char *value;
} ce_attr;

typedef struct cloudevent {
    const char *id, *source, *specversion, *type; /* required, never NULL */
    const char *datacontenttype;                  /* NULL when absent */
    const char *dataschema, *subject, *time;      /* NULL when absent */
    const ce_attr *extensions;                    /* any other attribute */
    size_t n_extensions;
    const unsigned char *data; /* the payload bytes (data_base64 decoded; `data` re-serialized
                                  compactly when JSON); NULL when the event has no data */
    size_t data_len;
    bool structured; /* arrived in structured mode (transport detail, not part of the event) */
} cloudevent;

typedef enum {
    CE_OK = 0,
    CE_ERR_MISSING,      /* a required attribute is absent (400) */
    CE_ERR_INVALID,      /* a bad attribute name or value, bad JSON, bad base64 (400) */
    CE_ERR_SPECVERSION,  /* specversion is not 1.0 (400) */
    CE_ERR_BATCH,        /* batched mode is not supported (415) */
    CE_ERR_CONTENT_TYPE, /* an unsupported structured format, e.g. cloudevents+xml (415) */
    CE_ERR_NOMEM,        /* 500 */
} ce_status;

/* Parses the event carried by REQ. On error, returns the status, zeroes *OUT and writes into ERR
 * (may be NULL) a message that names the attribute, quoted ("missing required attribute
 * \"source\"", or the header or member when the name itself is wrong), and echoes input only
 * through the printable policy (printable.h: at most 64 bytes, escaped). */
ce_status ce_parse_http(const struct http_request *req, arena *a, cloudevent *out, char *err,
                        size_t errlen);

/* The value of extension NAME, or NULL. */
const char *ce_extension(const cloudevent *ev, const char *name);

/* The event in structured JSON form (attributes, extensions, and `data` when that carries the
 * payload's exact bytes — compact JSON, or UTF-8 text under a non-JSON datacontenttype — else
 * `data_base64`). ce_from_json() of the result gives back EV. New reference; NULL on OOM. */
json_t *ce_to_json(const cloudevent *ev);

/* Parses the structured JSON form back (as stored by the ledger for replay), with the same rules
 * and messages as structured mode; OUT->structured is false. Memory as for ce_parse_http(). */
ce_status ce_from_json(const json_t *obj, arena *a, cloudevent *out, char *err, size_t errlen);

/* "missing_attribute", "invalid_event", ...: the stable error code for the JSON answer. */
const char *ce_status_code(ce_status s);
/* The HTTP status for S: 400, 415 or 500. */
int ce_status_http(ce_status s);

#endif

/* media_type — media types (Content-Type, datacontenttype) parsed once, compared properly.
 *
 * Syntax (RFC 9110 §8.3.1, with RFC 2045's token for type, subtype and parameter names):
 *   type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] )
 * with optional whitespace (SP, HTAB) allowed at either end and around ";", nowhere else.
 * Type, subtype, suffix and parameter names compare case-insensitively (RFC 2045 §5.1, RFC 9110
 * §8.3.1); the suffix is what follows the subtype's last "+" (RFC 6838 §4.2.8: "json" in
 * "cloudevents+json"). A parameter's value is returned unquoted, as it was sent otherwise.
 *
 * Memory: a parsed media_type points into the string it was parsed from, which must outlive it. */
#ifndef RT_MEDIA_TYPE_H
#define RT_MEDIA_TYPE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *type, *subtype; /* not NUL-terminated: see the lengths */
    size_t type_len, subtype_len;
    const char *suffix; /* after the subtype's last "+"; NULL when it has none */
    size_t suffix_len;
    const char *params; /* the text after the subtype (parameters and whitespace) */
} media_type;

/* Parses S. Returns true and fills *OUT, or false (zeroing *OUT) when S is not a media type. */
bool media_type_parse(const char *s, media_type *out);

/* Whether M is TYPE/SUBTYPE (any case); SUBTYPE "*" matches any subtype. */
bool media_type_is(const media_type *m, const char *type, const char *subtype);

/* Whether M's subtype starts with PREFIX (any case): "cloudevents" for "cloudevents+json". */
bool media_type_subtype_has_prefix(const media_type *m, const char *prefix);

/* Whether M declares JSON (the CloudEvents JSON format §3.1.1, RFC 6839 §3.1): a subtype "json"
 * or a "+json" suffix, whatever the type. */
bool media_type_is_json(const media_type *m);

/* The value of the first parameter NAME (any case) of M, unquoted into BUF (BUFLEN bytes; a
 * longer value is cut to fit); NULL when there is none. */
const char *media_type_param(const media_type *m, const char *name, char *buf, size_t buflen);

/* Shorthands for a string that may be NULL or not parse: false then. */
bool media_type_str_is(const char *s, const char *type, const char *subtype);
bool media_type_str_is_json(const char *s);

#endif

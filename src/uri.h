/* uri — RFC 3986 syntax checks for the CloudEvents URI types.
 *
 * uri_reference_valid(): a URI-reference (RFC 3986 §4.1), what CloudEvents' `source` is:
 * "https://example.com/a", "urn:uuid:...", "/sensors/7", "1-555-123-4567", "//host/path".
 * uri_absolute_valid(): an absolute-URI (§4.3: a scheme, no fragment), what `dataschema` is.
 *
 * Both check the grammar only: characters (unreserved, sub-delims, ":", "@", "/", "?", and
 * "%" followed by two hex digits), a scheme that starts with a letter, an authority's userinfo,
 * host (a registered name, or an IP literal in brackets) and numeric port, and that a relative
 * reference's first segment has no ":". The empty string is a valid reference (RFC 3986 allows
 * it); callers that need a non-empty one check that. Nothing is decoded or normalised. */
#ifndef RT_URI_H
#define RT_URI_H

#include <stdbool.h>

bool uri_reference_valid(const char *s);
bool uri_absolute_valid(const char *s);

#endif

/* pct — percent-decoding (RFC 3986 §2.1): each %XX (two hex digits, either case) becomes its
 * byte, everything else is kept. PCT_FORM also reads '+' as a space, as
 * application/x-www-form-urlencoded query strings write it.
 *
 * Memory: the result is NUL-terminated in arena A; its length (a %00 makes a NUL inside it) in
 * *OUTLEN. NULL on a malformed escape (a '%' not followed by two hex digits), or, with *NOMEM
 * set, when memory ran out. */
#ifndef RT_PCT_H
#define RT_PCT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

typedef enum { PCT_PLAIN, PCT_FORM } pct_mode;

char *pct_decode(arena *a, const char *s, size_t n, pct_mode mode, size_t *outlen, bool *nomem);

#endif

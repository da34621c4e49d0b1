/* glob — object-name patterns for rules, such as "**.csv" under a "datasets/churn/" prefix.
 *
 * Syntax:
 *   *    any run of characters except '/' (possibly empty)
 *   **   any run of characters including '/' (possibly empty); "**" followed by '/' also matches
 *        nothing at all: the pattern a/ ** /b (written without the spaces) matches "a/b"
 *        as well as "a/x/y/b", as in .gitignore
 *   ?    exactly one character other than '/'
 *   \c   the character c literally (so "\*" is a star, "\\" a backslash)
 *   anything else matches itself, byte for byte (names are UTF-8; '?' matches one byte).
 * Refused by glob_compile(): three or more stars in a row, '[' ']' (character classes) and
 * '{' '}' (brace alternatives) unless escaped, a trailing backslash, an empty pattern and
 * patterns longer than GLOB_MAX_LEN bytes. Refusing rather than treating them literally keeps
 * a pattern written for another glob dialect from silently matching nothing.
 *
 * Matching simulates the pattern as an NFA over the name, one pass: time is O(len(name) x
 * tokens), never exponential whatever the pattern.
 *
 * Ownership: glob_compile() returns a pattern the caller frees with glob_free(). A compiled
 * pattern is immutable; glob_match() may be called on it from any thread. */
#ifndef RT_GLOB_H
#define RT_GLOB_H

#include <stdbool.h>
#include <stddef.h>

#define GLOB_MAX_LEN 1024 /* Cloud Storage object names are at most 1024 bytes */

typedef struct glob_pattern glob_pattern;

typedef enum {
    GLOB_OK = 0,
    GLOB_ERR_EMPTY,    /* "" */
    GLOB_ERR_TOO_LONG, /* more than GLOB_MAX_LEN bytes */
    GLOB_ERR_STARS,    /* "***" or more */
    GLOB_ERR_CLASS,    /* '[' or ']' */
    GLOB_ERR_BRACE,    /* '{' or '}' */
    GLOB_ERR_ESCAPE,   /* a backslash at the end */
    GLOB_ERR_NOMEM,
} glob_status;

/* Compiles PATTERN. On error *OUT is NULL and ERR (if not NULL) names the problem and its byte
 * offset ("'***' at offset 4: at most two stars in a row"). */
glob_status glob_compile(const char *pattern, glob_pattern **out, char *err, size_t errlen);

/* True when NAME matches the whole pattern. */
bool glob_match(const glob_pattern *g, const char *name);

/* The pattern's source text (borrowed, lives as long as G). */
const char *glob_source(const glob_pattern *g);

void glob_free(glob_pattern *g);

/* "ok", "empty", "too_long", ... */
const char *glob_status_name(glob_status s);

#endif

/* problems — "path: message" lines collected into the caller's buffer, so that a check (the
 * config, the rules, check-config) reports every problem of a file in one run rather than the
 * first. Lines are separated by '\n'; when the buffer is full the rest is cut, but every
 * problem is still counted.
 *
 * Memory: the collector writes into BUF (CAP bytes, owned by the caller) and allocates nothing. */
#ifndef RT_PROBLEMS_H
#define RT_PROBLEMS_H

#include <stddef.h>

#define PROBLEM_PATH_MAX 512

typedef struct {
    char *buf; /* may be NULL: count only */
    size_t cap, len;
    int count;
} problems;

/* Adds the line "PATH: message". */
void problem_add(problems *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds each "path: message" line of TEXT (another check's report, one problem a line); a line
 * without a path gets WHERE. */
void problem_add_lines(problems *p, const char *text, const char *where);

/* OUT = BASE followed by FMT ("%s.key", "[3]"); OUT may be BASE. Cut silently when too long. */
void problem_path(char out[PROBLEM_PATH_MAX], const char *base, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

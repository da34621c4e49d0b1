/* errtext — the one way a module writes an error message into its caller's buffer.
 *
 * Modules that return a status and explain it in a caller's `char *err, size_t errlen` write
 * the explanation with errtext_set() (ERR may be NULL or ERRLEN 0: no text is wanted), and
 * return in one line with errtext_fail():
 *
 *     return errtext_fail(err, errlen, CE_ERR_INVALID, "id: must be a non-empty string");
 *
 * The text is cut to the buffer and always NUL-terminated; nothing is allocated. */
#ifndef RT_ERRTEXT_H
#define RT_ERRTEXT_H

#include <stddef.h>

void errtext_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the message, then evaluates to STATUS (any type). */
#define errtext_fail(err, errlen, status, ...) (errtext_set((err), (errlen), __VA_ARGS__), (status))

#endif

/* problems — see problems.h. */
#include "problems.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends what vsnprintf wrote, keeping len within the buffer when it was cut. */
static void advance(problems *p, int n)
{
    if (n > 0)
        p->len += (size_t)n < p->cap - p->len ? (size_t)n : p->cap - p->len - 1;
}

void problem_add(problems *p, const char *path, const char *fmt, ...)
{
    p->count++;
    if (!p->buf || p->cap == 0 || p->len + 1 >= p->cap)
        return;
    advance(p, snprintf(p->buf + p->len, p->cap - p->len, "%s%s: ", p->len ? "\n" : "", path));
    va_list ap;
    va_start(ap, fmt);
    advance(p, vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap));
    va_end(ap);
}

void problem_path(char out[PROBLEM_PATH_MAX], const char *base, const char *fmt, ...)
{
    size_t n = strnlen(base, PROBLEM_PATH_MAX - 1);
    memmove(out, base, n);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, PROBLEM_PATH_MAX - n, fmt, ap);
    va_end(ap);
}

void problem_add_lines(problems *p, const char *text, const char *where)
{
    char path[PROBLEM_PATH_MAX];
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        const char *colon = memchr(line, ':', len);
        snprintf(path, sizeof path, "%.*s", colon ? (int)(colon - line) : 0, line);
        const char *msg = colon ? colon + 1 + (colon[1] == ' ') : line;
        problem_add(p, colon ? path : where, "%.*s", (int)(line + len - msg), msg);
        line += len;
        if (*line == '\n')
            line++;
    }
}

/* glob — see glob.h.
 *
 * A pattern compiles to a token array. Matching keeps one flag per token position ("the
 * pattern up to here matches the name read so far") and advances all of them per name byte,
 * like a Thompson NFA: no backtracking, so "*a*a*a*a*b" against a long run of 'a' costs
 * len(name) x tokens steps, not an exponential number. */
#include "glob.h"

#include "errtext.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_LIT,   /* one literal byte */
    T_ONE,   /* ? */
    T_STAR,  /* * */
    T_DSTAR, /* ** */
    T_SKIP,  /* consumes nothing; lets the next two tokens be skipped */
} token_kind;

typedef struct {
    unsigned char kind;
    unsigned char c; /* T_LIT */
} token;

struct glob_pattern {
    char *source;
    size_t n;
    token tokens[];
};

glob_status glob_compile(const char *pattern, glob_pattern **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t len = strlen(pattern);
    if (len == 0) {
        errtext_set(err, errlen, "empty pattern");
        return GLOB_ERR_EMPTY;
    }
    if (len > GLOB_MAX_LEN) {
        errtext_set(err, errlen, "pattern longer than %d bytes", GLOB_MAX_LEN);
        return GLOB_ERR_TOO_LONG;
    }
    glob_pattern *g = malloc(sizeof *g + len * sizeof(token));
    if (!g || !(g->source = strdup(pattern))) {
        free(g);
        errtext_set(err, errlen, "out of memory");
        return GLOB_ERR_NOMEM;
    }
    size_t n = 0;
    glob_status st = GLOB_OK;
    for (size_t i = 0; i < len && st == GLOB_OK; i++) {
        unsigned char c = (unsigned char)pattern[i];
        switch (c) {
        case '\\':
            if (i + 1 == len) {
                errtext_set(err, errlen, "'\\' at offset %zu: nothing to escape", i);
                st = GLOB_ERR_ESCAPE;
            } else {
                g->tokens[n++] = (token){T_LIT, (unsigned char)pattern[++i]};
            }
            break;
        case '*': {
            size_t run = strspn(pattern + i, "*");
            if (run > 2) {
                errtext_set(err, errlen, "'***' at offset %zu: at most two stars in a row", i);
                st = GLOB_ERR_STARS;
            } else if (run == 2) {
                /* "**" + "/" is (** /)? : optional, so it may match zero directories. */
                if (pattern[i + 2] == '/')
                    g->tokens[n++] = (token){T_SKIP, 0};
                g->tokens[n++] = (token){T_DSTAR, 0};
                i++;
            } else {
                g->tokens[n++] = (token){T_STAR, 0};
            }
            break;
        }
        case '?':
            g->tokens[n++] = (token){T_ONE, 0};
            break;
        case '[':
        case ']':
            errtext_set(
                err, errlen,
                "'%c' at offset %zu: character classes are not supported (escape it as \\%c)", c, i,
                c);
            st = GLOB_ERR_CLASS;
            break;
        case '{':
        case '}':
            errtext_set(err, errlen,
                        "'%c' at offset %zu: brace alternatives are not supported (write one rule "
                        "per alternative, or escape it as \\%c)",
                        c, i, c);
            st = GLOB_ERR_BRACE;
            break;
        default:
            g->tokens[n++] = (token){T_LIT, c};
        }
    }
    if (st != GLOB_OK) {
        glob_free(g);
        return st;
    }
    g->n = n;
    *out = g;
    return GLOB_OK;
}

/* Follows the empty-match edges: a star of either kind may match nothing, so when position i
 * is live, so is i + 1; a T_SKIP also makes i + 3 live (past its "**" and "/"). Edges only go
 * forward, so one pass in order is the closure. */
static void close_forward(const glob_pattern *g, unsigned char *live)
{
    for (size_t i = 0; i < g->n; i++) {
        if (!live[i] || g->tokens[i].kind < T_STAR)
            continue;
        live[i + 1] = 1;
        if (g->tokens[i].kind == T_SKIP)
            live[i + 3] = 1;
    }
}

bool glob_match(const glob_pattern *g, const char *name)
{
    /* n <= GLOB_MAX_LEN, so the state sets fit on the stack. */
    unsigned char a[GLOB_MAX_LEN + 1], b[GLOB_MAX_LEN + 1];
    unsigned char *cur = a, *next = b;
    memset(cur, 0, g->n + 1);
    cur[0] = 1;
    close_forward(g, cur);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        memset(next, 0, g->n + 1);
        bool any = false;
        for (size_t i = 0; i < g->n; i++) {
            if (!cur[i])
                continue;
            const token *t = &g->tokens[i];
            switch (t->kind) {
            case T_LIT:
                if (*p == t->c)
                    next[i + 1] = 1, any = true;
                break;
            case T_ONE:
                if (*p != '/')
                    next[i + 1] = 1, any = true;
                break;
            case T_STAR:
                if (*p != '/')
                    next[i] = 1, any = true;
                break;
            case T_DSTAR:
                next[i] = 1, any = true;
                break;
            case T_SKIP:
                break;
            }
        }
        if (!any)
            return false;
        close_forward(g, next);
        unsigned char *tmp = cur;
        cur = next;
        next = tmp;
    }
    return cur[g->n] != 0;
}

const char *glob_source(const glob_pattern *g)
{
    return g->source;
}

void glob_free(glob_pattern *g)
{
    if (g) {
        free(g->source);
        free(g);
    }
}

const char *glob_status_name(glob_status s)
{
    switch (s) {
    case GLOB_OK:
        return "ok";
    case GLOB_ERR_EMPTY:
        return "empty";
    case GLOB_ERR_TOO_LONG:
        return "too_long";
    case GLOB_ERR_STARS:
        return "too_many_stars";
    case GLOB_ERR_CLASS:
        return "character_class";
    case GLOB_ERR_BRACE:
        return "brace";
    case GLOB_ERR_ESCAPE:
        return "trailing_backslash";
    case GLOB_ERR_NOMEM:
        return "out_of_memory";
    }
    return "unknown";
}

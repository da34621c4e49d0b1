/* html — see html.h. */
#include "html.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "printable.h"

#define HTML_FIRST 16384

struct html {
    arena *a;
    char *buf;
    size_t len, cap;
    bool oom;
};

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

html *html_new(arena *a)
{
    html *h = arena_zalloc(a, sizeof *h);
    if (!h)
        return NULL;
    h->a = a;
    h->cap = HTML_FIRST;
    if (!(h->buf = arena_alloc(a, h->cap)))
        return NULL;
    h->buf[0] = '\0';
    return h;
}

/* Room for N more bytes and the NUL; false (and sticky) when memory ran out. */
static bool reserve(html *h, size_t n)
{
    if (!h || h->oom)
        return false;
    if (h->len + n + 1 <= h->cap)
        return true;
    size_t cap = h->cap;
    while (h->len + n + 1 > cap) {
        if (cap > SIZE_MAX / 2) {
            h->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *grown = arena_alloc(h->a, cap); /* the old block goes with the arena */
    if (!grown) {
        h->oom = true;
        return false;
    }
    memcpy(grown, h->buf, h->len + 1);
    h->buf = grown;
    h->cap = cap;
    return true;
}

static void put(html *h, const char *s, size_t n)
{
    if (!reserve(h, n))
        return;
    memcpy(h->buf + h->len, s, n);
    h->len += n;
    h->buf[h->len] = '\0';
}

void html_raw(html *h, const char *markup)
{
    if (markup)
        put(h, markup, strlen(markup));
}

/* FMT formatted into the arena; NULL (and sticky) when memory ran out. */
static const char *vformat(html *h, const char *fmt, va_list ap)
{
    if (!h || h->oom)
        return NULL;
    const char *s = arena_vprintf(h->a, fmt, ap);
    if (!s)
        h->oom = true;
    return s;
}

void html_rawf(html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *s = vformat(h, fmt, ap);
    va_end(ap);
    html_raw(h, s);
}

static const char *entity(unsigned char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

void html_textn(html *h, const char *s, size_t len)
{
    if (!s)
        return;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            const char *e = entity(c);
            if (e)
                html_raw(h, e);
            else if (c == '\t' || c == '\n' || (c >= 0x20 && c < 0x7F))
                put(h, s + i, 1);
            else
                html_raw(h, replacement);
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = prt_utf8_next(s + i, len - i, &cp);
        if (n == 0) { /* not UTF-8: one replacement a byte */
            html_raw(h, replacement);
            i++;
        } else {
            if (prt_is_printable(s + i, n))
                put(h, s + i, n);
            else
                html_raw(h, replacement);
            i += n;
        }
    }
}

void html_text(html *h, const char *s)
{
    if (s)
        html_textn(h, s, strlen(s));
}

void html_textf(html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *s = vformat(h, fmt, ap);
    va_end(ap);
    html_text(h, s);
}

void html_url_part(html *h, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            put(h, (const char *)&c, 1);
        } else {
            char pct[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(h, pct, 3);
        }
    }
}

const char *html_done(html *h, size_t *len)
{
    if (!h || h->oom)
        return NULL;
    *len = h->len;
    return h->buf;
}

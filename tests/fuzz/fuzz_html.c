/* libFuzzer target for src/html: any bytes written as text must come out as text only. The
 * output holds none of < > " ' raw, every & opens one of the five entities html.c writes, it is
 * valid UTF-8 with no control byte but tab and line feed, and every code point in it is one
 * printable.h keeps; the same bytes as a URL query value come out as unreserved characters and
 * %XX only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "html.h"
#include "printable.h"

static void check_text(const char *out, size_t len)
{
    static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)out[i];
        if (c == '<' || c == '>' || c == '"' || c == '\'')
            abort();
        if (c == '&') {
            size_t k = 0;
            while (k < 5 && strncmp(out + i, entities[k], strlen(entities[k])) != 0)
                k++;
            if (k == 5)
                abort();
            i += strlen(entities[k]);
            continue;
        }
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F)
                abort();
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = prt_utf8_next(out + i, len - i, &cp);
        if (n == 0)
            abort();
        if (cp != 0xFFFD && !prt_is_printable(out + i, n))
            abort();
        i += n;
    }
}

static void check_url(const char *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '%') {
            if (i + 2 >= len)
                abort();
            if (!strchr("0123456789ABCDEF", out[i + 1]) || !strchr("0123456789ABCDEF", out[i + 2]))
                abort();
            i += 2;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~')) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new(4096);
    if (!a)
        return 0;
    html *h = html_new(a);
    size_t len = 0;
    const char *out;
    if (h) {
        html_textn(h, (const char *)data, size);
        if ((out = html_done(h, &len)) != NULL)
            check_text(out, len);
    }
    /* As a query value: the bytes up to the first NUL, as a C string. */
    char *s = malloc(size + 1);
    html *u = html_new(a);
    if (s && u) {
        memcpy(s, data, size);
        s[size] = '\0';
        html_url_part(u, s);
        if ((out = html_done(u, &len)) != NULL)
            check_url(out, len);
    }
    free(s);
    arena_free(a);
    return 0;
}

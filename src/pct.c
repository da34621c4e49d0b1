/* pct — see pct.h. */
#include "pct.h"

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

char *pct_decode(arena *a, const char *s, size_t n, pct_mode mode, size_t *outlen, bool *nomem)
{
    char *out = arena_alloc(a, n + 1);
    if (!out) {
        *nomem = true;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+' && mode == PCT_FORM) {
            out[k++] = ' ';
            continue;
        }
        if (s[i] != '%') {
            out[k++] = s[i];
            continue;
        }
        if (n - i < 3)
            return NULL;
        int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0)
            return NULL;
        out[k++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[k] = '\0';
    *outlen = k;
    return out;
}

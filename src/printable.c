/* printable — see printable.h.
 *
 * The input is read one unit at a time (an ASCII byte, a whole UTF-8 sequence, or a byte that
 * belongs to none); each unit is rendered into a few bytes and appended while it fits. The
 * output length after the last unit that still leaves room for "..." is remembered, so a cut
 * falls there, on a unit boundary. */
#include "printable.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define UNIT_MAX 12 /* the longest rendering of one unit: "\u{E007F}" */

size_t prt_utf8_next(const void *in, size_t n, uint32_t *cp)
{
    const unsigned char *s = in;
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0)
        len = 2, v = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, v = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Code points that are not shown as themselves: C1 controls, bidirectional controls, other
 * invisible format characters, line and paragraph separators, noncharacters. */
static bool hidden(uint32_t cp)
{
    static const struct {
        uint32_t lo, hi;
    } ranges[] = {
        {0x0080, 0x009f}, {0x00ad, 0x00ad}, {0x061c, 0x061c}, {0x180e, 0x180e},
        {0x200b, 0x200f}, {0x2028, 0x202e}, {0x2060, 0x2064}, {0x2066, 0x206f},
        {0xfdd0, 0xfdef}, {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0xe0000, 0xe007f},
    };
    if ((cp & 0xfffe) == 0xfffe) /* U+xxFFFE and U+xxFFFF in every plane */
        return true;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i].lo && cp <= ranges[i].hi)
            return true;
    return false;
}

/* Renders the unit at S (N > 0 bytes left) into UNIT; returns how many input bytes it took and
 * sets *ULEN to the rendering's length. */
static size_t render_unit(const unsigned char *s, size_t n, char unit[UNIT_MAX], size_t *ulen)
{
    uint32_t cp;
    size_t len = prt_utf8_next(s, n, &cp);
    if (len == 0) {
        *ulen = (size_t)snprintf(unit, UNIT_MAX, "\\x%02X", s[0]);
        return 1;
    }
    if (len == 1) {
        const char *esc = cp == '"'    ? "\\\""
                          : cp == '\\' ? "\\\\"
                          : cp == '\t' ? "\\t"
                          : cp == '\n' ? "\\n"
                          : cp == '\r' ? "\\r"
                                       : NULL;
        if (esc) {
            *ulen = strlen(esc);
            memcpy(unit, esc, *ulen);
        } else if (cp < 0x20 || cp == 0x7f) {
            *ulen = (size_t)snprintf(unit, UNIT_MAX, "\\x%02X", (unsigned)cp);
        } else {
            unit[0] = (char)cp;
            *ulen = 1;
        }
        return 1;
    }
    if (hidden(cp)) {
        *ulen = (size_t)snprintf(unit, UNIT_MAX, "\\u{%04X}", (unsigned)cp);
        return len;
    }
    memcpy(unit, s, len);
    *ulen = len;
    return len;
}

const char *prt_text(char *out, size_t outsize, const void *in, size_t len)
{
    if (!out || outsize == 0)
        return out;
    out[0] = '\0';
    if (outsize < 4)
        return out;
    const unsigned char *s = in;
    size_t k = 0, mark = 0, room = outsize - 1, keep = outsize - 4; /* keep: room for "..." */
    for (size_t i = 0; s && i < len;) {
        char unit[UNIT_MAX];
        size_t ulen;
        size_t used = render_unit(s + i, len - i, unit, &ulen);
        if (k + ulen > room) {
            memcpy(out + mark, "...", 3);
            k = mark + 3;
            break;
        }
        memcpy(out + k, unit, ulen);
        k += ulen;
        if (k <= keep)
            mark = k;
        i += used;
    }
    out[k] = '\0';
    return out;
}

const char *prt_str(char *out, size_t outsize, const char *s)
{
    return prt_text(out, outsize, s, s ? strlen(s) : 0);
}

bool prt_utf8_valid(const void *in, size_t len)
{
    const unsigned char *s = in;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = prt_utf8_next(s + i, len - i, &cp);
        if (n == 0 || cp == 0)
            return false;
        i += n;
    }
    return true;
}

bool prt_is_printable(const void *in, size_t len)
{
    const unsigned char *s = in;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = prt_utf8_next(s + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f || hidden(cp))
            return false;
        i += n;
    }
    return true;
}

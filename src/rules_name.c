/* rules_name — which object names a rule refuses unless it opts in (see rules.h).
 *
 * Cloud Storage names are flat and literal: "a/../b" is one object, not "b". But a training
 * container that reads gs:// paths through a file system (gcsfuse, or any code that joins the
 * name to a directory) resolves "..", ".", "//" and a leading "/" as paths do, and reads outside
 * the dataset the rule was written for. Control characters and bytes that are not UTF-8 are no
 * names Cloud Storage makes (it refuses CR and LF, and discourages the C1 controls), and they
 * break the logs and argument lists the name is copied into. So a name with any of those is
 * matched by no rule but one with match.allow_unsafe_names. Kept apart from glob.c: a glob only
 * says whether a string has a shape; what names are safe is a policy of the rules. */
#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The length of the UTF-8 sequence at S (strict: no overlong form, no surrogate, nothing past
 * U+10FFFF), with its code point in *CP; 0 when it is not one. */
static size_t utf8_next(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0], need, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        need = 1, min = 0x80, c &= 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        need = 2, min = 0x800, c &= 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 3, min = 0x10000, c &= 0x07;
    else
        return 0;
    for (unsigned i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) /* a NUL ends the string here too */
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return need + 1;
}

static bool is_control(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

const char *rules_unsafe_name(const char *name, size_t *offset)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t seg = 0; /* where the current segment starts */
    for (size_t i = 0;; i++) {
        if (s[i] == '/' || s[i] == '\0') {
            size_t len = i - seg;
            const char *why = NULL;
            if (len == 0 && s[i] == '/')
                why = "an empty segment (a leading '/' or \"//\")";
            else if ((len == 1 && s[seg] == '.') ||
                     (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                why = "a \".\" or \"..\" segment";
            if (why) {
                if (offset)
                    *offset = seg;
                return why;
            }
            if (s[i] == '\0')
                return NULL;
            seg = i + 1;
            continue;
        }
        unsigned cp;
        size_t n = utf8_next(s + i, &cp);
        if (n == 0 || is_control(cp)) {
            if (offset)
                *offset = i;
            return n == 0 ? "bytes that are not UTF-8" : "a control character";
        }
        i += n - 1;
    }
}

const char *rules_unsafe_bucket(const char *bucket, size_t *offset)
{
    static const char allowed[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    size_t ok = strspn(bucket, allowed);
    if (offset)
        *offset = ok;
    if (!*bucket || bucket[ok])
        return "characters Cloud Storage does not allow in a bucket name";
    if (strcmp(bucket, ".") == 0 || strcmp(bucket, "..") == 0) {
        if (offset)
            *offset = 0;
        return "the name \".\" or \"..\"";
    }
    return NULL;
}

/* uri — see uri.h. The reference is split the way RFC 3986 §3 reads it: fragment after the
 * first "#", query after the first "?", a scheme when a ":" comes before any "/", an authority
 * after a leading "//", and the path; each part is then checked against its character set. */
#include "uri.h"

#include <string.h>

/* ASCII classes, whatever the locale. */
static bool alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool hexdig(int c)
{
    return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool unreserved(int c)
{
    return alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool sub_delim(int c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* Whether S[0..N) consists of unreserved, sub-delims, pct-encoded and the characters in EXTRA. */
static bool chars_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || !hexdig((unsigned char)s[i + 1]) || !hexdig((unsigned char)s[i + 2]))
                return false;
            i += 2;
        } else if (!(unreserved(c) || sub_delim(c) || (c != '\0' && strchr(extra, c)))) {
            return false;
        }
    }
    return true;
}

/* RFC 3986 §3.2.2: "[" IPv6address / IPvFuture "]", checked for its characters. */
static bool ip_literal_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    if (s[0] == 'v' || s[0] == 'V') { /* IPvFuture: "v" 1*HEXDIG "." 1*( ... ) */
        size_t i = 1;
        while (i < n && hexdig((unsigned char)s[i]))
            i++;
        return i > 1 && i + 1 < n && s[i] == '.' && chars_ok(s + i + 1, n - i - 1, ":");
    }
    size_t colons = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ':')
            colons++;
        else if (!hexdig((unsigned char)s[i]) && s[i] != '.')
            return false;
    }
    return colons >= 2;
}

/* RFC 3986 §3.2: [ userinfo "@" ] host [ ":" port ]. */
static bool authority_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at) {
        if (!chars_ok(s, (size_t)(at - s), ":"))
            return false;
        n -= (size_t)(at - s) + 1;
        s = at + 1;
    }
    const char *port = NULL;
    size_t host_len = n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || !ip_literal_ok(s + 1, (size_t)(close - s) - 1))
            return false;
        host_len = (size_t)(close - s) + 1;
        if (host_len < n) {
            if (s[host_len] != ':')
                return false;
            port = s + host_len + 1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon) {
            host_len = (size_t)(colon - s);
            port = colon + 1;
        }
        if (!chars_ok(s, host_len, ""))
            return false;
    }
    for (const char *p = port; p && p < s + n; p++)
        if (!digit((unsigned char)*p))
            return false;
    return true;
}

/* Checks S; SCHEME_REQUIRED and NO_FRAGMENT make it the absolute-URI of §4.3. */
static bool check(const char *s, bool scheme_required, bool no_fragment)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    const char *hash = memchr(s, '#', n);
    if (hash) {
        if (no_fragment || !chars_ok(hash + 1, n - (size_t)(hash - s) - 1, ":@/?"))
            return false;
        n = (size_t)(hash - s);
    }
    const char *q = memchr(s, '?', n);
    if (q) {
        if (!chars_ok(q + 1, n - (size_t)(q - s) - 1, ":@/?"))
            return false;
        n = (size_t)(q - s);
    }
    /* A ":" before the first "/" ends a scheme; in a relative reference it cannot appear. */
    size_t first_slash = strcspn(s, "/");
    const char *colon = memchr(s, ':', n < first_slash ? n : first_slash);
    if (colon) {
        if (colon == s || !alpha((unsigned char)s[0]))
            return false;
        for (const char *p = s; p < colon; p++)
            if (!(alpha((unsigned char)*p) || digit((unsigned char)*p) || *p == '+' || *p == '-' ||
                  *p == '.'))
                return false;
        n -= (size_t)(colon - s) + 1;
        s = colon + 1;
    } else if (scheme_required) {
        return false;
    }
    if (n >= 2 && s[0] == '/' && s[1] == '/') {
        const char *path = memchr(s + 2, '/', n - 2);
        size_t alen = path ? (size_t)(path - s) - 2 : n - 2;
        if (!authority_ok(s + 2, alen))
            return false;
        n -= alen + 2;
        s += alen + 2;
    }
    return chars_ok(s, n, ":@/");
}

bool uri_reference_valid(const char *s)
{
    return check(s, false, false);
}

bool uri_absolute_valid(const char *s)
{
    return check(s, true, true);
}

/* media_type — see media_type.h.
 *
 * One scanner walks the parameters both for validation (media_type_parse) and for lookups
 * (media_type_param), so the two can never disagree on where a parameter starts or ends. */
#include "media_type.h"

#include <string.h>
#include <strings.h>

/* RFC 2045 §5.1: any US-ASCII CHAR except SPACE, CTLs and tspecials. */
static bool token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

static size_t token_len(const char *s)
{
    size_t n = 0;
    while (token_char((unsigned char)s[n]))
        n++;
    return n;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* RFC 9110 §5.6.4: the length of the quoted-string at S (which starts with DQUOTE), or 0. */
static size_t quoted_len(const char *s)
{
    size_t i = 1;
    for (;;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            unsigned char e = (unsigned char)s[i + 1];
            if (!(e == '\t' || (e >= 0x20 && e != 0x7f)))
                return 0;
            i += 2;
        } else if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
            i++;
        } else {
            return 0; /* the end of the string, or a control character */
        }
    }
}

typedef struct {
    const char *name, *value; /* value: a token, or a quoted-string with its quotes */
    size_t name_len, value_len;
} param;

/* Reads the next parameter after *P into *OUT; returns 1 for a parameter, 0 at the end, -1 on a
 * syntax error. Empty parameters (";;") are skipped, as RFC 9110 allows them. */
static int next_param(const char **p, param *out)
{
    const char *s = skip_ows(*p);
    while (*s == ';') {
        s = skip_ows(s + 1);
        if (*s == ';' || *s == '\0')
            continue;
        size_t n = token_len(s);
        if (n == 0 || s[n] != '=')
            return -1;
        out->name = s;
        out->name_len = n;
        s += n + 1;
        size_t v = *s == '"' ? quoted_len(s) : token_len(s);
        if (v == 0)
            return -1;
        out->value = s;
        out->value_len = v;
        *p = s + v;
        return 1;
    }
    *p = s;
    return *s == '\0' ? 0 : -1;
}

bool media_type_parse(const char *s, media_type *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return false;
    s = skip_ows(s);
    size_t t = token_len(s);
    if (t == 0 || s[t] != '/')
        return false;
    const char *sub = s + t + 1;
    size_t st = token_len(sub);
    if (st == 0)
        return false;
    const char *p = sub + st;
    param prm;
    int r;
    while ((r = next_param(&p, &prm)) == 1)
        ;
    if (r < 0)
        return false;
    out->type = s;
    out->type_len = t;
    out->subtype = sub;
    out->subtype_len = st;
    out->params = sub + st;
    for (size_t i = st; i > 0; i--)
        if (sub[i - 1] == '+') {
            out->suffix = sub + i;
            out->suffix_len = st - i;
            break;
        }
    return true;
}

static bool same(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

bool media_type_is(const media_type *m, const char *type, const char *subtype)
{
    return m->type && same(m->type, m->type_len, type) &&
           (strcmp(subtype, "*") == 0 || same(m->subtype, m->subtype_len, subtype));
}

bool media_type_subtype_has_prefix(const media_type *m, const char *prefix)
{
    size_t k = strlen(prefix);
    return m->subtype && m->subtype_len >= k && strncasecmp(m->subtype, prefix, k) == 0;
}

bool media_type_is_json(const media_type *m)
{
    return m->subtype && (same(m->subtype, m->subtype_len, "json") ||
                          (m->suffix && same(m->suffix, m->suffix_len, "json")));
}

const char *media_type_param(const media_type *m, const char *name, char *buf, size_t buflen)
{
    if (!m->params || buflen == 0)
        return NULL;
    const char *p = m->params;
    param prm;
    while (next_param(&p, &prm) == 1) {
        if (!same(prm.name, prm.name_len, name))
            continue;
        size_t k = 0;
        const char *v = prm.value, *end = prm.value + prm.value_len;
        if (*v == '"')
            v++, end--;
        for (; v < end; v++) {
            if (*v == '\\')
                v++;
            if (k + 1 < buflen)
                buf[k++] = *v;
        }
        buf[k] = '\0';
        return buf;
    }
    return NULL;
}

bool media_type_str_is(const char *s, const char *type, const char *subtype)
{
    media_type m;
    return media_type_parse(s, &m) && media_type_is(&m, type, subtype);
}

bool media_type_str_is_json(const char *s)
{
    media_type m;
    return media_type_parse(s, &m) && media_type_is_json(&m);
}

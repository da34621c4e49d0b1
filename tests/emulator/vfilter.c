/* vfilter — see vfilter.h. */
#include "vfilter.h"

#include <string.h>

const char *vf_status_name(vf_status s)
{
    switch (s) {
    case VF_OK:
        return "ok";
    case VF_SYNTAX:
        return "syntax error";
    case VF_UNKNOWN_KEY:
        return "unknown key";
    case VF_TOO_LONG:
        return "too long";
    }
    return "?";
}

static void trim(const char **s, size_t *len)
{
    while (*len && **s == ' ')
        (*s)++, (*len)--;
    while (*len && (*s)[*len - 1] == ' ')
        (*len)--;
}

/* One `lhs=value` clause; the value may be double-quoted. */
static vf_status clause_parse(const char *s, size_t len, vf_filter *f)
{
    trim(&s, &len);
    const char *eq = memchr(s, '=', len);
    if (!len || !eq)
        return VF_SYNTAX;
    if (f->n == VF_MAX_CLAUSES)
        return VF_TOO_LONG;
    const char *k = s, *v = eq + 1;
    size_t klen = (size_t)(eq - s), vlen = len - klen - 1;
    trim(&k, &klen);
    trim(&v, &vlen);
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
        v++, vlen -= 2;
    if (memchr(v, '"', vlen) || memchr(v, '=', vlen) || memchr(k, ' ', klen) ||
        (vlen && v[-1] != '"' && memchr(v, ' ', vlen)))
        return VF_SYNTAX;
    vf_clause *c = &f->clauses[f->n];
    if (vlen >= sizeof c->value)
        return VF_TOO_LONG;
    memcpy(c->value, v, vlen);
    c->value[vlen] = '\0';
    if (klen > 7 && strncmp(k, "labels.", 7) == 0) {
        if (klen - 7 >= sizeof c->key)
            return VF_TOO_LONG;
        c->kind = VF_LABEL;
        memcpy(c->key, k + 7, klen - 7);
        c->key[klen - 7] = '\0';
    } else if (klen == 5 && strncmp(k, "state", 5) == 0) {
        c->kind = VF_STATE;
    } else if ((klen == 12 && strncmp(k, "display_name", 12) == 0) ||
               (klen == 11 && strncmp(k, "displayName", 11) == 0)) {
        c->kind = VF_DISPLAY_NAME;
    } else {
        return VF_UNKNOWN_KEY;
    }
    f->n++;
    return VF_OK;
}

vf_status vf_parse(const char *text, vf_filter *f)
{
    f->n = 0;
    size_t len = strlen(text);
    trim(&text, &len);
    if (!len)
        return VF_OK;
    const char *p = text, *end = text + len;
    for (;;) {
        const char *sep = strstr(p, " AND ");
        if (sep && sep + 5 > end) /* " AND " must end inside the trimmed text */
            sep = NULL;
        vf_status s = clause_parse(p, sep ? (size_t)(sep - p) : (size_t)(end - p), f);
        if (s != VF_OK)
            return s;
        if (!sep)
            return VF_OK;
        p = sep + 5;
    }
}

bool vf_match(const vf_filter *f, const json_t *resource)
{
    for (int i = 0; i < f->n; i++) {
        const json_t *v;
        switch (f->clauses[i].kind) {
        case VF_LABEL:
            v = json_object_get(json_object_get(resource, "labels"), f->clauses[i].key);
            break;
        case VF_STATE:
            v = json_object_get(resource, "state");
            break;
        default:
            v = json_object_get(resource, "displayName");
            break;
        }
        if (!json_is_string(v) || strcmp(json_string_value(v), f->clauses[i].value) != 0)
            return false;
    }
    return true;
}

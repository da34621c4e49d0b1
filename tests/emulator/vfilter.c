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

static bool key_is(const char *k, size_t klen, const char *want)
{
    return klen == strlen(want) && strncmp(k, want, klen) == 0;
}

/* A label key after "labels." or "labels:" into C. */
static vf_status label_key(const char *k, size_t klen, vf_clause *c)
{
    if (!klen)
        return VF_UNKNOWN_KEY;
    if (klen >= sizeof c->key)
        return VF_TOO_LONG;
    if (memchr(k, ' ', klen) || memchr(k, '"', klen))
        return VF_SYNTAX;
    c->kind = VF_LABEL;
    memcpy(c->key, k, klen);
    c->key[klen] = '\0';
    return VF_OK;
}

/* `labels:KEY` or `labels.KEY:*`: a label's existence. */
static vf_status exists_parse(const char *s, size_t len, vf_clause *c)
{
    c->op = VF_EXISTS;
    if (len > 7 && strncmp(s, "labels:", 7) == 0) {
        const char *k = s + 7;
        size_t klen = len - 7;
        trim(&k, &klen);
        return label_key(k, klen, c);
    }
    if (len > 9 && strncmp(s, "labels.", 7) == 0 && strncmp(s + len - 2, ":*", 2) == 0)
        return label_key(s + 7, len - 9, c);
    return VF_SYNTAX;
}

/* One `lhs=value`, `lhs!=value` or existence clause; a value may be double-quoted. */
static vf_status clause_parse(const char *s, size_t len, unsigned keys, vf_filter *f)
{
    trim(&s, &len);
    if (!len)
        return VF_SYNTAX;
    if (f->n == VF_MAX_CLAUSES)
        return VF_TOO_LONG;
    vf_clause *c = &f->clauses[f->n];
    memset(c, 0, sizeof *c);
    const char *eq = memchr(s, '=', len);
    vf_status st;
    if (!eq) {
        if ((st = exists_parse(s, len, c)) != VF_OK)
            return st;
    } else {
        bool ne = eq > s && eq[-1] == '!';
        const char *k = s, *v = eq + 1;
        size_t klen = (size_t)(eq - s) - ne, vlen = len - (size_t)(eq - s) - 1;
        trim(&k, &klen);
        trim(&v, &vlen);
        bool quoted = vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"';
        if (quoted)
            v++, vlen -= 2;
        if (memchr(v, '"', vlen) || memchr(v, '=', vlen) || memchr(k, ' ', klen) ||
            memchr(k, '!', klen) || (!quoted && memchr(v, ' ', vlen)))
            return VF_SYNTAX;
        if (vlen >= sizeof c->value)
            return VF_TOO_LONG;
        memcpy(c->value, v, vlen);
        c->value[vlen] = '\0';
        c->op = ne ? VF_NE : VF_EQ;
        if (klen > 7 && strncmp(k, "labels.", 7) == 0) {
            if ((st = label_key(k + 7, klen - 7, c)) != VF_OK)
                return st;
            if (ne) /* labels take equality and existence only */
                return VF_SYNTAX;
        } else if (key_is(k, klen, "state")) {
            c->kind = VF_STATE;
        } else if (key_is(k, klen, "display_name") || key_is(k, klen, "displayName")) {
            c->kind = VF_DISPLAY_NAME;
        } else if (key_is(k, klen, "model")) {
            c->kind = VF_MODEL;
        } else {
            return VF_UNKNOWN_KEY;
        }
    }
    if (!(keys & VF_KEY(c->kind)))
        return VF_UNKNOWN_KEY;
    f->n++;
    return VF_OK;
}

vf_status vf_parse(const char *text, unsigned keys, vf_filter *f)
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
        vf_status s = clause_parse(p, sep ? (size_t)(sep - p) : (size_t)(end - p), keys, f);
        if (s != VF_OK)
            return s;
        if (!sep)
            return VF_OK;
        p = sep + 5;
    }
}

/* The id of a model: the last segment of its name, without a "@version". */
static bool model_id_is(const json_t *resource, const char *want)
{
    const char *name = json_string_value(json_object_get(resource, "name"));
    const char *slash = name ? strrchr(name, '/') : NULL;
    if (!slash)
        return false;
    size_t n = strcspn(slash + 1, "@");
    return n == strlen(want) && strncmp(slash + 1, want, n) == 0;
}

static bool clause_match(const vf_clause *c, const json_t *resource)
{
    const json_t *v;
    bool eq;
    switch (c->kind) {
    case VF_LABEL:
        v = json_object_get(json_object_get(resource, "labels"), c->key);
        return c->op == VF_EXISTS
                   ? v != NULL
                   : json_is_string(v) && strcmp(json_string_value(v), c->value) == 0;
    case VF_MODEL:
        eq = model_id_is(resource, c->value);
        break;
    case VF_STATE:
    case VF_DISPLAY_NAME:
    default:
        v = json_object_get(resource, c->kind == VF_STATE ? "state" : "displayName");
        eq = json_is_string(v) && strcmp(json_string_value(v), c->value) == 0;
        break;
    }
    return c->op == VF_NE ? !eq : eq;
}

bool vf_match(const vf_filter *f, const json_t *resource)
{
    for (int i = 0; i < f->n; i++)
        if (!clause_match(&f->clauses[i], resource))
            return false;
    return true;
}

/* template — see template.h.
 *
 * One scanner serves both the compile-time check and the per-event expansion, so what
 * check-config accepts is exactly what expands: "$${" is a literal "${", "${NAME}" a
 * placeholder, any other '$' literal. Expansion grows a heap buffer and hands the result to
 * jansson or the arena; template strings are short, so this is not on any hot path. */
#include "template.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a placeholder may stand: the templates of the work a run submits, a batch's key (one
 * event's values), a promotion's metrics URI (a model version's values). */
enum { IN_WORK = 1, IN_EVENT = 2, IN_VERSION = 4 };

static const struct {
    const char *name;
    size_t offset;
    int where; /* IN_* */
} placeholders[] = {
    {"bucket", offsetof(template_vars, bucket), IN_WORK | IN_EVENT},
    {"name", offsetof(template_vars, name), IN_WORK | IN_EVENT},
    {"name_dir", offsetof(template_vars, name_dir), IN_WORK | IN_EVENT},
    {"generation", offsetof(template_vars, generation), IN_WORK | IN_EVENT},
    {"event_id", offsetof(template_vars, event_id), IN_WORK | IN_EVENT},
    {"event_key", offsetof(template_vars, event_key), IN_WORK | IN_EVENT},
    {"event_time", offsetof(template_vars, event_time), IN_WORK | IN_EVENT},
    {"rule", offsetof(template_vars, rule), IN_WORK | IN_EVENT | IN_VERSION},
    {"gcs_uri", offsetof(template_vars, gcs_uri), IN_WORK | IN_EVENT},
    {"run_id", offsetof(template_vars, run_id), IN_WORK | IN_VERSION},
    {"batch_size", offsetof(template_vars, batch_size), IN_WORK},
    {"batch_first_name", offsetof(template_vars, batch_first_name), IN_WORK},
    {"batch_last_name", offsetof(template_vars, batch_last_name), IN_WORK},
    {"batch_prefix", offsetof(template_vars, batch_prefix), IN_WORK},
    {"batch_manifest_uri", offsetof(template_vars, batch_manifest_uri), IN_WORK},
    {"artifact_uri", offsetof(template_vars, artifact_uri), IN_VERSION},
    {"model", offsetof(template_vars, model), IN_VERSION},
    {"version_id", offsetof(template_vars, version_id), IN_VERSION},
};

#define N_PLACEHOLDERS (sizeof placeholders / sizeof placeholders[0])

/* The index of placeholder NAME (LEN bytes), or -1. */
static int lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < N_PLACEHOLDERS; i++)
        if (strlen(placeholders[i].name) == len && memcmp(placeholders[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

typedef enum { SEG_TEXT, SEG_VAR, SEG_UNKNOWN, SEG_UNTERMINATED } seg_kind;

/* The next segment of S: literal text (up to the next '$' that starts something), one
 * placeholder, or a problem. Returns the number of bytes consumed (0 at the end). */
static size_t next_segment(const char *s, seg_kind *kind, const char **text, size_t *len, int *var)
{
    if (!*s)
        return 0;
    if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
        *kind = SEG_TEXT;
        *text = s + 1; /* "${" */
        *len = 2;
        return 3;
    }
    if (s[0] == '$' && s[1] == '{') {
        const char *end = strchr(s + 2, '}');
        if (!end) {
            *kind = SEG_UNTERMINATED;
            *text = s;
            *len = strlen(s);
            return *len;
        }
        *text = s + 2;
        *len = (size_t)(end - (s + 2));
        *var = lookup(*text, *len);
        *kind = *var < 0 ? SEG_UNKNOWN : SEG_VAR;
        return *len + 3;
    }
    /* Literal text up to the next '$' that is followed by '{' or "${". */
    size_t n = 1;
    while (s[n] && !(s[n] == '$' && (s[n + 1] == '{' || (s[n + 1] == '$' && s[n + 2] == '{'))))
        n++;
    *kind = SEG_TEXT;
    *text = s;
    *len = n;
    return n;
}

int template_has_placeholder(const char *s)
{
    seg_kind kind;
    const char *text;
    size_t len, used;
    int var;
    while ((used = next_segment(s, &kind, &text, &len, &var)) > 0) {
        if (kind != SEG_TEXT)
            return 1;
        s += used;
    }
    return 0;
}

/* The names of the placeholders allowed WHERE, as "${a} ${b}". */
static void known_names(int where, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_PLACEHOLDERS && used < outlen; i++)
        if (placeholders[i].where & where)
            used += (size_t)snprintf(out + used, outlen - used, "%s${%s}", used ? " " : "",
                                     placeholders[i].name);
}

static int check(const char *s, int where, char *msg, size_t msglen)
{
    seg_kind kind;
    const char *text;
    size_t len, used;
    int var = -1;
    char known[400];
    while ((used = next_segment(s, &kind, &text, &len, &var)) > 0) {
        if (kind == SEG_UNKNOWN || (kind == SEG_VAR && !(placeholders[var].where & where))) {
            known_names(where, known, sizeof known);
            const char *what = kind == SEG_UNKNOWN ? "unknown"
                               : where == IN_EVENT ? "not an event's"
                                                   : "not a known";
            snprintf(msg, msglen,
                     "%s placeholder ${%.*s} (known%s: %s; write $${ for a literal ${)", what,
                     len > 40 ? 40 : (int)len, text, where == IN_WORK ? "" : " here", known);
            return -1;
        }
        if (kind == SEG_UNTERMINATED) {
            snprintf(msg, msglen, "unterminated ${ (write $${ for a literal ${)");
            return -1;
        }
        s += used;
    }
    return 0;
}

int template_check(const char *s, char *msg, size_t msglen)
{
    return check(s, IN_WORK, msg, msglen);
}

int template_check_event(const char *s, char *msg, size_t msglen)
{
    return check(s, IN_EVENT, msg, msglen);
}

int template_check_version(const char *s, char *msg, size_t msglen)
{
    return check(s, IN_VERSION, msg, msglen);
}

bool template_names(const char *s, const char *name)
{
    seg_kind kind;
    const char *text;
    size_t len, used;
    int var = -1;
    while ((used = next_segment(s, &kind, &text, &len, &var)) > 0) {
        if (kind == SEG_VAR && strcmp(placeholders[var].name, name) == 0)
            return true;
        s += used;
    }
    return false;
}

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

/* S expanded on the heap (LEN bytes); NULL on OOM. Unknown placeholders, which compiled rules
 * never hold, are copied literally. */
static char *expand(const char *s, const template_vars *v, size_t *out_len)
{
    strbuf b = {0};
    sb_add(&b, "", 0);
    seg_kind kind;
    const char *text;
    size_t len, used;
    int var = -1;
    while ((used = next_segment(s, &kind, &text, &len, &var)) > 0) {
        if (kind == SEG_VAR) {
            const char *value = *(const char *const *)((const char *)v + placeholders[var].offset);
            if (value)
                sb_add(&b, value, strlen(value));
        } else if (kind == SEG_TEXT) {
            sb_add(&b, text, len);
        } else {
            sb_add(&b, s, used);
        }
        s += used;
    }
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    *out_len = b.len;
    return b.buf;
}

char *template_expand_string(const char *tmpl, const template_vars *vars, arena *a)
{
    size_t len;
    char *s = expand(tmpl, vars, &len);
    char *copy = s ? arena_strndup(a, s, len) : NULL;
    free(s);
    return copy;
}

json_t *template_expand(const json_t *tmpl, const template_vars *vars)
{
    if (json_is_string(tmpl)) {
        size_t len;
        char *s = expand(json_string_value(tmpl), vars, &len);
        json_t *out = s ? json_stringn(s, len) : NULL; /* NULL for invalid UTF-8 too */
        free(s);
        return out;
    }
    if (json_is_array(tmpl)) {
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(tmpl, i, item)
        {
            if (!out || json_array_append_new(out, template_expand(item, vars)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (json_is_object(tmpl)) {
        json_t *out = json_object();
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)tmpl, key, value)
        {
            if (!out || json_object_set_new(out, key, template_expand(value, vars)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    return json_copy((json_t *)tmpl);
}

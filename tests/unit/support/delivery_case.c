/* delivery_case — see delivery_case.h. */
#include "delivery_case.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "case_token.h"

#define MAX_REPEAT 5

static const char *const known_keys[] = {"request",        "expect",    "field.", "field-contains.",
                                         "field-matches.", "header.",   "log.",   "log-matches.",
                                         "repeat",         "nonewline", "e2e",    "jwt",
                                         "key-fetches",    "bug",       NULL};
static const char *const known_sections[] = {"headers", "body", NULL};

void missed(verdict *v, const char *fmt, ...)
{
    if (v->missed)
        return;
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    v->missed = arena_strdup(v->a, buf);
}

static bool is_known(const char *key)
{
    return case_key_known(key, known_keys) || case_key_known(key, case_token_keys);
}

/* The standard event a case without headers or body sends: its id is the case's name. */
static void standard_event(delivery *d)
{
    d->headers[0] = (case_item){"ce-specversion", "1.0"};
    d->headers[1] = (case_item){"ce-id", d->f.name};
    d->headers[2] = (case_item){"ce-source", "//cases"};
    d->headers[3] = (case_item){"ce-type", "com.example.case"};
    d->headers[4] = (case_item){"Content-Type", "application/json"};
    d->n_headers = 5;
    d->body = "{}";
    d->body_len = 2;
}

const char *delivery_load(const char *path, delivery *d)
{
    memset(d, 0, sizeof *d);
    const char *bad = case_load(path, &d->f);
    if (bad)
        return bad;
    for (size_t i = 0; i < d->f.n_items; i++)
        if (!is_known(d->f.items[i].key))
            return "an unknown key in the header block";
    if (case_unknown_section(&d->f, known_sections))
        return "an unknown section";
    const char *request = case_value(&d->f, "request");
    if (request) {
        const char *sp = strchr(request, ' ');
        if (!sp || sp == request || sp[1] != '/')
            return "request: METHOD /PATH";
        d->method = arena_strndup(d->f.a, request, (size_t)(sp - request));
        d->uri = sp + 1;
    } else {
        d->method = "POST";
        d->uri = "/";
    }
    const char *expect = case_value(&d->f, "expect");
    d->expect = expect ? atoi(expect) : 0;
    if (d->expect < 100 || d->expect > 599)
        return "expect: the status the answer must have";
    const char *repeat = case_value(&d->f, "repeat");
    d->repeat = repeat ? atoi(repeat) : 1;
    if (d->repeat < 1 || d->repeat > MAX_REPEAT)
        return "repeat: 1 to 5 deliveries";
    const case_section *h = case_section_named(&d->f, "headers"),
                       *b = case_section_named(&d->f, "body");
    if (!h && !b && strcmp(d->method, "POST") == 0) {
        standard_event(d);
        return NULL;
    }
    if (h) {
        int n = case_section_items(d->f.a, h, d->headers, DELIVERY_MAX_HEADERS, &bad);
        if (n < 0)
            return bad;
        d->n_headers = (size_t)n;
    }
    for (size_t i = 0; i < d->n_headers; i++)
        if (strcasecmp(d->headers[i].key, "authorization") == 0)
            return "the Authorization header comes from the token keys (authorization:)";
    if (b) {
        d->body = b->text;
        d->body_len = b->len;
        const char *nonewline = case_value(&d->f, "nonewline");
        if (nonewline && strcmp(nonewline, "yes") != 0)
            return "nonewline: yes (or no such line)";
        if (nonewline && d->body_len && d->body[d->body_len - 1] == '\n')
            d->body_len--;
    }
    return NULL;
}

/* ---- the answer ------------------------------------------------------------------------ */

/* The member at the dotted PATH of V ("echo.id"; a number indexes an array), or NULL. */
static json_t *at_path(json_t *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *seg = strtok(buf, "."); v && seg; seg = strtok(NULL, ".")) {
        char *end;
        long i = strtol(seg, &end, 10);
        v = json_is_array(v) && !*end ? json_array_get(v, (size_t)i) : json_object_get(v, seg);
    }
    return v;
}

/* V as the case files write it: a string as itself, anything else as compact JSON, and
 * "(absent)" for no value or null. In A. */
static const char *shown(arena *a, const json_t *v)
{
    if (!v || json_is_null(v))
        return "(absent)";
    if (json_is_string(v))
        return json_string_value(v);
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *out = arena_strdup(a, text ? text : "?");
    free(text);
    return out;
}

/* Whether TEXT matches the extended regular expression RE (a bad RE fails the test). */
static bool matches(verdict *v, const char *text, const char *re)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0) {
        missed(v, "/%s/: not an extended regular expression", re);
        return false;
    }
    bool yes = regexec(&r, text, 0, NULL, 0) == 0;
    regfree(&r);
    return yes;
}

static const char *response_header(const http_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void delivery_check_answer(const delivery *d, const http_response *r, verdict *v)
{
    const char *path = d->f.path;
    json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    if (r->status != d->expect)
        missed(v, "%s: status %d, want %d: %.*s", path, r->status, d->expect, (int)r->body_len,
               r->body ? r->body : "");
    for (size_t i = 0; i < d->f.n_items; i++) {
        const char *key = d->f.items[i].key, *want = d->f.items[i].value;
        const char *field = strchr(key, '.') ? strchr(key, '.') + 1 : "";
        const char *got = shown(d->f.a, at_path(body, field));
        if (strncmp(key, "field.", 6) == 0) {
            if (strcmp(got, want) != 0)
                missed(v, "%s: %s is \"%s\", want \"%s\"", path, field, got, want);
        } else if (strncmp(key, "field-contains.", 15) == 0) {
            if (!strstr(got, want))
                missed(v, "%s: %s is \"%s\", which does not contain \"%s\"", path, field, got,
                       want);
        } else if (strncmp(key, "field-matches.", 14) == 0) {
            if (!matches(v, got, want))
                missed(v, "%s: %s is \"%s\", which does not match /%s/", path, field, got, want);
        } else if (strncmp(key, "header.", 7) == 0) {
            const char *h = response_header(r, field);
            if (!h || strcmp(h, want) != 0)
                missed(v, "%s: header %s is \"%s\", want \"%s\"", path, field, h ? h : "(absent)",
                       want);
        }
    }
    json_decref(body);
}

/* Every log line in LOG (NUL-terminated text) is matched against the case's log.FIELD lines:
 * one line must have them all. */
void delivery_check_log(const delivery *d, const char *log, verdict *v)
{
    bool wanted = false;
    for (size_t i = 0; i < d->f.n_items; i++)
        wanted |= strncmp(d->f.items[i].key, "log", 3) == 0;
    if (!wanted)
        return;
    for (const char *line = log; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        json_t *j = json_loadb(line, n, 0, NULL);
        bool all = j != NULL;
        for (size_t i = 0; all && i < d->f.n_items; i++) {
            const case_item *it = &d->f.items[i];
            if (strncmp(it->key, "log.", 4) == 0)
                all = strcmp(shown(d->f.a, json_object_get(j, it->key + 4)), it->value) == 0;
            else if (strncmp(it->key, "log-matches.", 12) == 0)
                all = matches(v, shown(d->f.a, json_object_get(j, it->key + 12)), it->value);
        }
        json_decref(j);
        if (all)
            return;
        line = nl ? nl + 1 : line + n;
    }
    missed(v, "%s: no log line has every log. field the case names; the delivery logged:\n%s",
           d->f.path, log);
}

/* curl -H @file: one header a line; "Name;" sends an empty value, and "Content-Type:" stops
 * curl adding its own when the case has none. */
char *delivery_curl_headers(const delivery *d)
{
    size_t cap = 64;
    for (size_t i = 0; i < d->n_headers; i++)
        cap += strlen(d->headers[i].key) + strlen(d->headers[i].value) + 4;
    char *out = malloc(cap);
    size_t n = 0;
    bool has_ct = false;
    for (size_t i = 0; i < d->n_headers; i++) {
        const case_item *h = &d->headers[i];
        has_ct |= strcasecmp(h->key, "content-type") == 0;
        n += (size_t)snprintf(out + n, cap - n, *h->value ? "%s: %s\n" : "%s;\n", h->key, h->value);
    }
    if (!has_ct)
        snprintf(out + n, cap - n, "Content-Type:\n");
    return out;
}

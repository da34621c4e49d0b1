/* The CloudEvents case files (tests/data/cloudevents/NAME.case, see the README there), run against
 * the parser: each file becomes the FastCGI parameters nginx would pass, glue turns them into an
 * http_request as the worker does, and ce_parse_http() must give the status, name the attribute
 * and produce the attributes and data the file expects. One cmocka test per file.
 *
 *   test_ce_cases [DIR]              run every case in DIR (default tests/data/cloudevents)
 *   test_ce_cases --emit CASE OUT    write CASE as OUT/headers (curl -H @file), OUT/body and
 *                                    OUT/expect.json (and OUT/skip-e2e for "e2e: no"), for the
 *                                    end-to-end runner
 *                                    (tests/e2e/test_ce_cases.sh), so both read the files
 *                                    through this one parser. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "cloudevent.h"
#include "glue.h"
#include "http_request.h"
#include "printable.h"

#define CASES_DIR "tests/data/cloudevents"
#define MAX_ITEMS 64

typedef struct {
    char *name, *value;
} item;

typedef struct {
    char *path;
    int expect;
    const char *attribute, *message; /* NULL when not checked */
    const char *data;                /* expected payload; "(none)" for no data; NULL: unchecked */
    bool e2e;                        /* false: "e2e: no ..." */
    item attrs[MAX_ITEMS], headers[MAX_ITEMS];
    const char *absent[MAX_ITEMS];
    size_t n_attrs, n_headers, n_absent;
    const char *body;
    size_t body_len;
    arena *a;
} ce_case;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The file's two escapes: "\\" is a backslash, "\xHH" a byte; any other backslash is itself. */
static char *unescape(arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
            out[k++] = '\\';
            i++;
        } else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
                   hexval(s[i + 3]) >= 0) {
            out[k++] = (char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
            i += 3;
        } else {
            out[k++] = s[i];
        }
    }
    if (out)
        out[k] = '\0';
    return out;
}

/* Parses the case file at PATH into *C; returns NULL or a complaint about the file. */
static const char *load_case(const char *path, ce_case *c)
{
    memset(c, 0, sizeof *c);
    c->a = arena_new(8192);
    c->path = arena_strdup(c->a, path);
    c->e2e = true;
    c->expect = -1;
    size_t len;
    char *text = read_file(path, &len);
    if (!text)
        return "cannot read the file";
    char *text_a = arena_strndup(c->a, text, len);
    free(text);
    if (!text_a)
        return "out of memory";
    enum { META, HEADERS } part = META;
    char *p = text_a, *end = text_a + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line_end = nl ? nl : end;
        size_t n = (size_t)(line_end - p);
        char *next = nl ? nl + 1 : end;
        if (n == 11 && memcmp(p, "--- headers", 11) == 0) {
            part = HEADERS;
        } else if (n == 8 && memcmp(p, "--- body", 8) == 0) {
            c->body = next;
            c->body_len = (size_t)(end - next);
            break;
        } else if (part == META && (n == 0 || p[0] == '#')) {
            /* a comment or a blank line */
        } else {
            char *colon = memchr(p, ':', n);
            if (!colon)
                return "a line without ':'";
            size_t klen = (size_t)(colon - p), voff = klen + 1;
            if (voff < n && p[voff] == ' ')
                voff++;
            char *key = arena_strndup(c->a, p, klen);
            char *value = unescape(c->a, p + voff, n - voff);
            if (!key || !value)
                return "out of memory";
            if (part == HEADERS) {
                if (c->n_headers == MAX_ITEMS)
                    return "too many headers";
                c->headers[c->n_headers++] = (item){key, value};
            } else if (strcmp(key, "expect") == 0) {
                c->expect = atoi(value);
            } else if (strcmp(key, "attribute") == 0) {
                c->attribute = value;
            } else if (strcmp(key, "message") == 0) {
                c->message = value;
            } else if (strcmp(key, "data") == 0) {
                c->data = value;
            } else if (strcmp(key, "absent") == 0) {
                if (c->n_absent == MAX_ITEMS)
                    return "too many absent lines";
                c->absent[c->n_absent++] = value;
            } else if (strncmp(key, "attr.", 5) == 0) {
                if (c->n_attrs == MAX_ITEMS)
                    return "too many attr lines";
                c->attrs[c->n_attrs++] = (item){key + 5, value};
            } else if (strcmp(key, "e2e") == 0) {
                c->e2e = strncmp(value, "no", 2) != 0;
            } else {
                return "an unknown key in the header block";
            }
        }
        p = next;
    }
    if (c->expect != 200 && c->expect != 400 && c->expect != 415)
        return "expect: must be 200, 400 or 415";
    if (c->expect == 400 && !c->attribute && !c->message)
        return "a 400 case names the attribute (or a message phrase)";
    if (c->expect != 200 && (c->n_attrs || c->n_absent || c->data))
        return "attr., absent and data are for accepted events";
    return NULL;
}

/* nginx's view of a header name: letters, digits and '-' only (ignore_invalid_headers,
 * underscores_in_headers off); anything else never reaches the pool. */
static bool nginx_passes(const char *name)
{
    if (!*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return false;
    return true;
}

/* The FastCGI parameters nginx passes for C (nginx.conf's fastcgi_param and HTTP_* headers). */
static char **params_of(const ce_case *c)
{
    char **envp = arena_alloc(c->a, (c->n_headers + 5) * sizeof *envp);
    size_t n = 0;
    envp[n++] = "REQUEST_METHOD=POST";
    envp[n++] = "DOCUMENT_URI=/";
    envp[n++] = arena_printf(c->a, "CONTENT_LENGTH=%zu", c->body_len);
    for (size_t i = 0; i < c->n_headers; i++) {
        const item *h = &c->headers[i];
        if (!nginx_passes(h->name) || strcasecmp(h->name, "content-length") == 0)
            continue;
        if (strcasecmp(h->name, "content-type") == 0) {
            envp[n++] = arena_printf(c->a, "CONTENT_TYPE=%s", h->value);
            continue;
        }
        char *param = arena_printf(c->a, "HTTP_%s=%s", h->name, h->value);
        for (char *q = param + 5; *q != '='; q++)
            *q = *q == '-' ? '_' : (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
        envp[n++] = param;
    }
    envp[n] = NULL;
    return envp;
}

static const char *attribute_of(const cloudevent *ev, const char *name)
{
    const struct {
        const char *name, *value;
    } core[] = {
        {"specversion", ev->specversion},
        {"id", ev->id},
        {"source", ev->source},
        {"type", ev->type},
        {"datacontenttype", ev->datacontenttype},
        {"dataschema", ev->dataschema},
        {"subject", ev->subject},
        {"time", ev->time},
    };
    for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
        if (strcmp(core[i].name, name) == 0)
            return core[i].value;
    return ce_extension(ev, name);
}

static void run_case(void **state)
{
    const char *path = *state;
    ce_case c;
    const char *bad = load_case(path, &c);
    if (bad)
        fail_msg("%s: %s", path, bad);
    http_request req;
    assert_int_equal(glue_request_from_params(params_of(&c), c.a, &req), 0);
    req.body = (const unsigned char *)c.body;
    req.body_len = c.body_len;
    cloudevent ev;
    char err[256];
    ce_status s = ce_parse_http(&req, c.a, &ev, err, sizeof err);
    int status = s == CE_OK ? 200 : ce_status_http(s);
    if (status != c.expect)
        fail_msg("%s: status %d (%s), want %d", path, status, s == CE_OK ? "accepted" : err,
                 c.expect);
    if (s != CE_OK) {
        char quoted[128];
        snprintf(quoted, sizeof quoted, "\"%s\"", c.attribute ? c.attribute : "");
        if (c.attribute && !strstr(err, quoted))
            fail_msg("%s: the message does not name %s: %s", path, quoted, err);
        if (c.message && !strstr(err, c.message))
            fail_msg("%s: the message does not say \"%s\": %s", path, c.message, err);
        if (!prt_is_printable(err, strlen(err)))
            fail_msg("%s: the message is not printable text", path);
    }
    for (size_t i = 0; s == CE_OK && i < c.n_attrs; i++) {
        const char *got = attribute_of(&ev, c.attrs[i].name);
        if (!got || strcmp(got, c.attrs[i].value) != 0)
            fail_msg("%s: attribute %s is \"%s\", want \"%s\"", path, c.attrs[i].name,
                     got ? got : "(absent)", c.attrs[i].value);
    }
    for (size_t i = 0; s == CE_OK && i < c.n_absent; i++)
        if (attribute_of(&ev, c.absent[i]))
            fail_msg("%s: attribute %s is present", path, c.absent[i]);
    if (s == CE_OK && c.data) {
        bool none = strcmp(c.data, "(none)") == 0;
        if (none ? ev.data != NULL
                 : !ev.data || ev.data_len != strlen(c.data) ||
                       memcmp(ev.data, c.data, ev.data_len) != 0)
            fail_msg("%s: data is \"%.*s\", want \"%s\"", path, ev.data ? (int)ev.data_len : 6,
                     ev.data ? (const char *)ev.data : "(none)", c.data);
    }
    arena_free(c.a);
}

/* ---- --emit: one case as files for curl ----------------------------------------------------- */

static int write_bytes(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static int emit(const char *path, const char *dir)
{
    ce_case c;
    const char *bad = load_case(path, &c);
    if (bad) {
        fprintf(stderr, "%s: %s\n", path, bad);
        return 2;
    }
    /* curl -H @file: one header a line; "Name;" sends an empty value, and "Content-Type:"
     * stops curl adding its own when the case has none. */
    size_t cap = 64;
    for (size_t i = 0; i < c.n_headers; i++)
        cap += strlen(c.headers[i].name) + strlen(c.headers[i].value) + 4;
    char *headers = arena_alloc(c.a, cap);
    size_t n = 0;
    bool has_ct = false;
    for (size_t i = 0; i < c.n_headers; i++) {
        const item *h = &c.headers[i];
        has_ct |= strcasecmp(h->name, "content-type") == 0;
        n += (size_t)snprintf(headers + n, cap - n, *h->value ? "%s: %s\n" : "%s;\n", h->name,
                              h->value);
    }
    if (!has_ct)
        n += (size_t)snprintf(headers + n, cap - n, "Content-Type:\n");
    json_t *attrs = json_object(), *absent = json_array();
    for (size_t i = 0; i < c.n_attrs; i++)
        json_object_set_new(attrs, c.attrs[i].name, json_string(c.attrs[i].value));
    for (size_t i = 0; i < c.n_absent; i++)
        json_array_append_new(absent, json_string(c.absent[i]));
    json_t *expect =
        json_pack("{s:i, s:s?, s:s?, s:o, s:o, s:b}", "expect", c.expect, "attribute", c.attribute,
                  "message", c.message, "attrs", attrs, "absent", absent, "e2e", c.e2e);
    char *text = expect ? json_dumps(expect, JSON_COMPACT) : NULL;
    json_decref(expect);
    int rc = text && write_bytes(dir, "headers", headers, n) == 0 &&
                     write_bytes(dir, "body", c.body ? c.body : "", c.body_len) == 0 &&
                     write_bytes(dir, "expect.json", text, strlen(text)) == 0 &&
                     (c.e2e || write_bytes(dir, "skip-e2e", "", 0) == 0)
                 ? 0
                 : 1;
    if (rc)
        fprintf(stderr, "%s: cannot write the case into %s: %s\n", path, dir, strerror(errno));
    free(text);
    arena_free(c.a);
    return rc;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--emit") == 0)
        return emit(argv[2], argv[3]);
    const char *dir = argc > 1 ? argv[1] : CASES_DIR;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "test_ce_cases: cannot open %s (run from the repository root)\n", dir);
        return 1;
    }
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".case") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            paths = realloc(paths, cap * sizeof *paths);
            assert_non_null(paths);
        }
        size_t plen = strlen(dir) + len + 2;
        paths[n] = malloc(plen);
        snprintf(paths[n], plen, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "test_ce_cases: no .case files in %s\n", dir);
        return 1;
    }
    qsort(paths, n, sizeof *paths, by_name);
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/');
        tests[i] = (struct CMUnitTest){
            .name = base ? base + 1 : paths[i], .test_func = run_case, .initial_state = paths[i]};
    }
    int rc = _cmocka_run_group_tests("ce_cases", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(tests);
    return rc;
}

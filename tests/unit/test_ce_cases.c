/* The CloudEvents case files (tests/data/cloudevents/NAME.case, see the README there), run against
 * the parser: each file becomes the FastCGI parameters nginx would pass, glue turns them into an
 * http_request as the worker does, and ce_parse_http() must give the status, name the attribute
 * and produce the attributes and data the file expects. One cmocka test per file.
 *
 *   test_ce_cases [DIR]              run every case in DIR (default tests/data/cloudevents)
 *   test_ce_cases --seeds OUT        write every case as a fuzz seed, OUT/cloudevent/case-NAME
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
#include <sys/stat.h>

#include <cmocka.h>

#include "cloudevent.h"
#include "support/case_file.h"
#include "support/case_request.h"
#include "glue.h"
#include "http_request.h"
#include "printable.h"

#define CASES_DIR "tests/data/cloudevents"
#define MAX_ITEMS 64

typedef struct {
    case_file file;
    int expect;
    const char *attribute, *message; /* NULL when not checked */
    const char *data;                /* expected payload; "(none)" for no data; NULL: unchecked */
    bool e2e;                        /* false: "e2e: no ..." */
    case_item attrs[MAX_ITEMS], headers[MAX_ITEMS];
    const char *absent[MAX_ITEMS];
    size_t n_attrs, n_headers, n_absent;
    const char *body;
    size_t body_len;
    arena *a;
} ce_case;

static const char *const known_keys[] = {"expect", "attribute", "message", "data",
                                         "absent", "attr.",     "e2e",     NULL};
static const char *const known_sections[] = {"headers", "body", NULL};

/* Parses the case file at PATH into *C; returns NULL or a complaint about the file. */
static const char *load_case(const char *path, ce_case *c)
{
    memset(c, 0, sizeof *c);
    const char *bad = case_load_known(path, &c->file, known_keys, known_sections);
    c->a = c->file.a;
    if (bad)
        return bad;
    c->e2e = true;
    c->expect = -1;
    for (size_t i = 0; i < c->file.n_items; i++) {
        const char *key = c->file.items[i].key, *value = c->file.items[i].value;
        if (strcmp(key, "expect") == 0) {
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
            c->attrs[c->n_attrs++] = (case_item){key + 5, value};
        } else if (strcmp(key, "e2e") == 0) {
            c->e2e = strncmp(value, "no", 2) != 0;
        }
    }
    const case_section *h = case_section_named(&c->file, "headers");
    if (h) {
        int n = case_section_items(c->a, h, c->headers, MAX_ITEMS, &bad);
        if (n < 0)
            return bad;
        c->n_headers = (size_t)n;
    }
    const case_section *b = case_section_named(&c->file, "body");
    if (b) {
        c->body = b->text;
        c->body_len = b->len;
    }
    if (c->expect != 200 && c->expect != 400 && c->expect != 415)
        return "expect: must be 200, 400 or 415";
    if (c->expect == 400 && !c->attribute && !c->message)
        return "a 400 case names the attribute (or a message phrase)";
    if (c->expect != 200 && (c->n_attrs || c->n_absent || c->data))
        return "attr., absent and data are for accepted events";
    return NULL;
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
    assert_int_equal(
        glue_request_from_params(
            case_fcgi_params(c.a, "POST", "/", c.headers, c.n_headers, c.body_len), c.a, &req),
        0);
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
        const char *got = attribute_of(&ev, c.attrs[i].key);
        if (!got || strcmp(got, c.attrs[i].value) != 0)
            fail_msg("%s: attribute %s is \"%s\", want \"%s\"", path, c.attrs[i].key,
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
        cap += strlen(c.headers[i].key) + strlen(c.headers[i].value) + 4;
    char *headers = arena_alloc(c.a, cap);
    size_t n = 0;
    bool has_ct = false;
    for (size_t i = 0; i < c.n_headers; i++) {
        const case_item *h = &c.headers[i];
        has_ct |= strcasecmp(h->key, "content-type") == 0;
        n += (size_t)snprintf(headers + n, cap - n, *h->value ? "%s: %s\n" : "%s;\n", h->key,
                              h->value);
    }
    if (!has_ct)
        n += (size_t)snprintf(headers + n, cap - n, "Content-Type:\n");
    json_t *attrs = json_object(), *absent = json_array();
    for (size_t i = 0; i < c.n_attrs; i++)
        json_object_set_new(attrs, c.attrs[i].key, json_string(c.attrs[i].value));
    for (size_t i = 0; i < c.n_absent; i++)
        json_array_append_new(absent, json_string(c.absent[i]));
    json_t *expect =
        json_pack("{s:i, s:s?, s:s?, s:o, s:o, s:b}", "expect", c.expect, "attribute", c.attribute,
                  "message", c.message, "attrs", attrs, "absent", absent, "e2e", c.e2e);
    char *text = expect ? json_dumps(expect, JSON_COMPACT) : NULL;
    json_decref(expect);
    int rc = text && case_write(dir, "headers", headers, n) == 0 &&
                     case_write(dir, "body", c.body ? c.body : "", c.body_len) == 0 &&
                     case_write(dir, "expect.json", text, strlen(text)) == 0 &&
                     (c.e2e || case_write(dir, "skip-e2e", "", 0) == 0)
                 ? 0
                 : 1;
    if (rc)
        fprintf(stderr, "%s: cannot write the case into %s: %s\n", path, dir, strerror(errno));
    free(text);
    arena_free(c.a);
    return rc;
}

/* ---- --seeds: every case as a fuzz_cloudevent seed ------------------------------------------ */

static int seed(const char *path, const char *out)
{
    ce_case c;
    const char *bad = load_case(path, &c);
    int rc = 0;
    if (bad) {
        fprintf(stderr, "%s: %s\n", path, bad);
        rc = 1;
    } else {
        size_t cap = c.body_len + 2;
        for (size_t k = 0; k < c.n_headers; k++)
            cap += strlen(c.headers[k].key) + strlen(c.headers[k].value) + 3;
        char *text = arena_alloc(c.a, cap), dir[4096], name[512];
        size_t len = 0;
        for (size_t k = 0; k < c.n_headers; k++)
            len += (size_t)snprintf(text + len, cap - len, "%s: %s\n", c.headers[k].key,
                                    c.headers[k].value);
        text[len++] = '\n';
        memcpy(text + len, c.body ? c.body : "", c.body_len);
        snprintf(dir, sizeof dir, "%s/cloudevent", out);
        snprintf(name, sizeof name, "case-%s", c.file.name);
        rc = case_write(dir, name, text, len + c.body_len) != 0;
    }
    arena_free(c.a);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--emit") == 0)
        return emit(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
        return case_seeds(CASES_DIR, argv[2], (const char *const[]){"cloudevent", NULL}, seed);
    return case_run_all("ce_cases", argc > 1 ? argv[1] : CASES_DIR, run_case);
}

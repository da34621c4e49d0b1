/* The delivery cases (tests/data/deliveries/ and tests/data/tokens/, see tests/data/README.md)
 * through the worker's whole request path: each case becomes the FastCGI parameters nginx
 * would pass, the pool's glue makes the http_request, and service_handle() answers it, with
 * auth on (a token minted per case, keys served by a loopback JWKS endpoint), a SQLite ledger
 * of its own and the echo function. The status, the answer's fields and headers, and the
 * fields of the log line the delivery caused must be those the case names. One cmocka test per
 * file.
 *
 *   test_delivery_cases [DIR...]          run every case in DIR (default: both directories)
 *   test_delivery_cases --emit CASE OUT   write CASE for the end-to-end runner
 *                                         (tests/e2e/test_delivery_cases.sh): OUT/request,
 *                                         OUT/headers (curl -H @file), OUT/body, OUT/expect.json,
 *                                         OUT/mint.json (the emulator's mint request) or
 *                                         OUT/token, and OUT/skip-e2e for "e2e: no"
 *   test_delivery_cases --authorize CASE TOKEN
 *                                         print the Authorization line CASE sends with TOKEN
 *                                         (its mutations applied; nothing for none)
 *   test_delivery_cases --seeds OUT       write the cases as fuzz seeds: OUT/cloudevent/,
 *                                         OUT/jwt/, OUT/pubsub_push/ */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "glue.h"
#include "jwt.h"
#include "log.h"
#include "scoreboard.h"
#include "service.h"
#include "support/case_file.h"
#include "support/case_request.h"
#include "support/case_token.h"
#include "support/mini_http.h"

#define DELIVERIES_DIR "tests/data/deliveries"
#define TOKENS_DIR "tests/data/tokens"
#define MAX_HEADERS 64
#define MAX_REPEAT 5

static const char *const known_keys[] = {"request",        "expect",    "field.", "field-contains.",
                                         "field-matches.", "header.",   "log.",   "log-matches.",
                                         "repeat",         "nonewline", "e2e",    "jwt",
                                         "key-fetches",    "bug",       NULL};
static const char *const known_sections[] = {"headers", "body", NULL};

/* A case read and checked, with its request. */
typedef struct {
    case_file f;
    const char *method, *uri;
    case_item headers[MAX_HEADERS];
    size_t n_headers;
    const char *body;
    size_t body_len;
    int expect, repeat;
} delivery;

/* What a run of a case found: the first expectation it missed (in the case's arena), or NULL. */
typedef struct {
    arena *a;
    const char *missed;
} verdict;

static void missed(verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void missed(verdict *v, const char *fmt, ...)
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

static const char *load(const char *path, delivery *d)
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
        int n = case_section_items(d->f.a, h, d->headers, MAX_HEADERS, &bad);
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

static void check_answer(const delivery *d, const http_response *r, verdict *v)
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
static void check_log(const delivery *d, const char *log, verdict *v)
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

/* ---- the service ------------------------------------------------------------------------ */

typedef struct {
    case_keys keys;
    mini_http *jwks;
    char dir[64];
    config cfg;
    int64_t second; /* the rejections the service logged in this second of its clock */
    int rejections;
} harness;

static harness H;

static int harness_setup(void)
{
    static const char *const env[] = {
        "RETRAIN_CONFIG",   "RETRAIN_AUDIENCE",    "RETRAIN_SERVICE_ACCOUNTS",
        "RETRAIN_JWKS_URL", "RETRAIN_LEDGER",      "RETRAIN_VERTEX_ENDPOINT",
        "RETRAIN_LISTEN",   "RETRAIN_FUNCTION",    "RETRAIN_LOG_LEVEL",
        "RETRAIN_WORKERS",  "GOOGLE_CLOUD_PROJECT"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        unsetenv(env[i]);
    log_init("worker", LOG_INFO);
    case_keys_make(&H.keys);
    H.jwks = mini_http_start();
    mini_http_set_fallback(H.jwks,
                           (mini_reply){.status = 200,
                                        .body = H.keys.jwks,
                                        .headers = "Cache-Control: public, max-age=3600\r\n"});
    snprintf(H.dir, sizeof H.dir, "/tmp/retrain-delivery-cases-XXXXXX");
    if (!mkdtemp(H.dir))
        return -1;
    char path[128], err[CONFIG_ERR_MAX];
    snprintf(path, sizeof path, "%s/config.json", H.dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"listen\": \"unix:%s/unused.sock\", \"function\": \"echo\","
            " \"auth\": {\"audiences\": [\"%s\", \"%s\"], \"service_accounts\": [\"%s\", \"%s\"],"
            "          \"jwks_url\": \"%s/oauth2/v3/certs\"}}\n",
            H.dir, CASE_AUDIENCE, CASE_AUDIENCE_2, CASE_ACCOUNT, CASE_ACCOUNT_2,
            mini_http_url(H.jwks));
    fclose(f);
    if (config_load(path, &H.cfg, err) != 0) {
        fprintf(stderr, "test_delivery_cases: %s\n", err);
        return -1;
    }
    unlink(path);
    return 0;
}

static void harness_teardown(void)
{
    config_free(&H.cfg);
    mini_http_stop(H.jwks);
    case_keys_free(&H.keys);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", H.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_delivery_cases: could not remove %s\n", H.dir);
}

/* The service logs at most 20 rejections a second (service.c): stay under that, so every
 * delivery whose log line a case checks gets one. */
static void pace(void)
{
    int64_t second = sb_now_ms() / 1000;
    if (second == H.second && H.rejections >= 15) {
        struct timespec ts = {0, (long)(1000 - sb_now_ms() % 1000 + 5) * 1000000L};
        nanosleep(&ts, NULL);
        second = sb_now_ms() / 1000;
    }
    if (second != H.second) {
        H.second = second;
        H.rejections = 0;
    }
}

/* Delivers D once; LOG (when not NULL) receives what the service logged meanwhile (malloc'd). */
static void deliver(service *svc, const delivery *d, const char *authorization, arena *a,
                    http_response *resp, char **log)
{
    case_item headers[MAX_HEADERS + 1];
    memcpy(headers, d->headers, d->n_headers * sizeof *headers);
    size_t n = d->n_headers;
    if (authorization)
        headers[n++] = (case_item){"Authorization", authorization};
    http_request req;
    assert_int_equal(glue_request_from_params(
                         case_fcgi_params(a, d->method, d->uri, headers, n, d->body_len), a, &req),
                     0);
    req.body = (const unsigned char *)d->body;
    req.body_len = d->body_len;
    memset(resp, 0, sizeof *resp);
    pace();
    FILE *capture = log ? tmpfile() : NULL;
    int saved = -1;
    if (capture) {
        fflush(stderr);
        saved = dup(2);
        dup2(fileno(capture), 2);
    }
    service_handle(svc, &req, a, resp);
    if (resp->status == 400 || resp->status == 401 || resp->status == 415)
        H.rejections++;
    if (capture) {
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        long len = ftell(capture);
        *log = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
        rewind(capture);
        if (len > 0 && fread(*log, 1, (size_t)len, capture) != (size_t)len)
            (*log)[0] = '\0';
        fclose(capture);
    }
}

static void run_case(void **state)
{
    const char *path = *state;
    delivery d;
    const char *bad = load(path, &d);
    if (bad)
        fail_msg("%s: %s", path, bad);
    char *token = case_token_mint(&d.f, &H.keys, (int64_t)time(NULL), &bad);
    char *mutated = token ? case_token_mutate(&d.f, token, &bad) : NULL;
    if (!mutated)
        fail_msg("%s: %s", path, bad ? bad : "cannot mint the token");
    char *authorization = case_token_authorization(&d.f, mutated);

    verdict v = {d.f.a, NULL};
    const char *jwt_want = case_value(&d.f, "jwt");
    if (jwt_want) { /* the jwt layer's own verdict on the token */
        jwt t;
        jwt_status st = jwt_parse(mutated, strlen(mutated), &t);
        if (st == JWT_OK)
            st = jwt_verify(&t, H.keys.ours);
        jwt_clear(&t);
        if (strcmp(jwt_status_name(st), jwt_want) != 0)
            missed(&v, "%s: jwt says %s, want %s", path, jwt_status_name(st), jwt_want);
    }

    char url[160], err[256];
    snprintf(url, sizeof url, "sqlite://%s/%s.db", H.dir, d.f.name);
    config_set_string(&H.cfg.ledger.url, url);
    service *svc = service_new(&H.cfg, NULL, err, sizeof err);
    if (!svc)
        fail_msg("service_new: %s", err);
    arena *a = arena_new(8192);
    http_response resp;
    char *log = NULL;
    long fetches = 0;
    for (int i = 1; i <= d.repeat; i++) {
        fetches = mini_http_requests(H.jwks);
        deliver(svc, &d, authorization, a, &resp, i == d.repeat ? &log : NULL);
        fetches = mini_http_requests(H.jwks) - fetches;
    }
    check_answer(&d, &resp, &v);
    check_log(&d, log ? log : "", &v);
    const char *want_fetches = case_value(&d.f, "key-fetches");
    if (want_fetches && fetches != atol(want_fetches))
        missed(&v, "%s: %ld fetches of the key set, want %s", path, fetches, want_fetches);
    free(log);
    arena_free(a);
    service_free(svc);
    free(authorization);
    free(mutated);
    free(token);
    /* A case that shows a known bug ("bug: WHERE, WHAT") must still miss its expectation. */
    const char *bug = case_value(&d.f, "bug");
    char *outcome = v.missed ? strdup(v.missed) : NULL;
    char *bug_text = bug ? strdup(bug) : NULL;
    case_free(&d.f);
    if (bug_text && !outcome) {
        print_error("%s: passes: the known bug (%s) is fixed; remove its bug: line\n", path,
                    bug_text);
        free(bug_text);
        fail();
    } else if (bug_text) {
        print_message("known bug (%s):\n  %s\n", bug_text, outcome);
    } else if (outcome) {
        print_error("%s\n", outcome);
        free(outcome);
        fail();
    }
    free(outcome);
    free(bug_text);
}

/* ---- --emit, --authorize, --seeds ----------------------------------------------------------- */

static json_t *path_array(const char *path)
{
    json_t *arr = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *seg = strtok(buf, "."); seg; seg = strtok(NULL, ".")) {
        char *end;
        long i = strtol(seg, &end, 10);
        json_array_append_new(arr, *end ? json_string(seg) : json_integer(i));
    }
    return arr;
}

/* curl -H @file: one header a line; "Name;" sends an empty value, and "Content-Type:" stops
 * curl adding its own when the case has none. */
static char *curl_headers(const delivery *d)
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

static int emit(const char *path, const char *dir)
{
    delivery d;
    const char *bad = load(path, &d);
    if (bad) {
        fprintf(stderr, "%s: %s\n", path, bad);
        case_free(&d.f);
        return 2;
    }
    json_t *x =
        json_pack("{s:i, s:i, s:[], s:[], s:[], s:[], s:[], s:[]}", "expect", d.expect, "repeat",
                  d.repeat, "fields", "contains", "matches", "headers", "log", "log_matches");
    static const struct {
        const char *prefix, *member;
    } kinds[] = {{"field.", "fields"},
                 {"field-contains.", "contains"},
                 {"field-matches.", "matches"},
                 {"header.", "headers"},
                 {"log.", "log"},
                 {"log-matches.", "log_matches"}};
    for (size_t i = 0; i < d.f.n_items; i++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            size_t plen = strlen(kinds[k].prefix);
            const case_item *it = &d.f.items[i];
            if (strncmp(it->key, kinds[k].prefix, plen) != 0)
                continue;
            json_t *what = k < 3 ? path_array(it->key + plen) : json_string(it->key + plen);
            json_array_append_new(json_object_get(x, kinds[k].member),
                                  json_pack("[o, s]", what, it->value));
        }
    char request[512];
    int rlen = snprintf(request, sizeof request, "%s %s\n", d.method, d.uri);
    char *headers = curl_headers(&d), *xt = json_dumps(x, JSON_COMPACT);
    const char *why = NULL;
    json_t *mint = case_token_mint_request(&d.f, (int64_t)time(NULL), &why);
    char *mt = mint ? json_dumps(mint, JSON_COMPACT) : NULL;
    const char *skip = case_value(&d.f, "e2e");
    const char *literal = case_value(&d.f, "token");
    int rc = case_write(dir, "request", request, (size_t)rlen) == 0 &&
                     case_write(dir, "headers", headers, strlen(headers)) == 0 &&
                     case_write(dir, "body", d.body ? d.body : "", d.body_len) == 0 &&
                     case_write(dir, "expect.json", xt, strlen(xt)) == 0 &&
                     (!mt || case_write(dir, "mint.json", mt, strlen(mt)) == 0) &&
                     (!literal || case_write(dir, "token", literal, strlen(literal)) == 0) &&
                     (!skip || strncmp(skip, "no", 2) != 0 ||
                      case_write(dir, "skip-e2e", skip, strlen(skip)) == 0)
                 ? 0
                 : 1;
    if (rc)
        fprintf(stderr, "%s: cannot write the case into %s: %s\n", path, dir, strerror(errno));
    else if (!mt && !literal && !(skip && strncmp(skip, "no", 2) == 0)) {
        fprintf(stderr, "%s: the end-to-end runner cannot send this token (%s): say e2e: no\n",
                path, why);
        rc = 2;
    }
    free(mt);
    json_decref(mint);
    free(xt);
    json_decref(x);
    free(headers);
    case_free(&d.f);
    return rc;
}

static int authorize(const char *path, const char *token)
{
    delivery d;
    const char *bad = load(path, &d);
    char *mutated = bad ? NULL : case_token_mutate(&d.f, token, &bad);
    if (!mutated) {
        fprintf(stderr, "%s: %s\n", path, bad);
        case_free(&d.f);
        return 2;
    }
    char *value = case_token_authorization(&d.f, mutated);
    if (value)
        printf(*value ? "Authorization: %s\n" : "Authorization;\n", value);
    free(value);
    free(mutated);
    case_free(&d.f);
    return 0;
}

/* One seed per case and target: the request in fuzz_cloudevent's format (header lines, a
 * blank line, the body), the token for fuzz_jwt, a push envelope's body for fuzz_pubsub_push. */
static int seeds(const char *out)
{
    const char *dirs[] = {DELIVERIES_DIR, TOKENS_DIR};
    char sub[4096];
    const char *targets[] = {"cloudevent", "jwt", "pubsub_push"};
    for (size_t t = 0; t < 3; t++) {
        snprintf(sub, sizeof sub, "%s/%s", out, targets[t]);
        if (mkdir(sub, 0755) != 0 && errno != EEXIST)
            return 1;
    }
    int rc = 0;
    for (size_t k = 0; k < 2; k++) {
        size_t n;
        char **paths = case_list(dirs[k], &n);
        for (size_t i = 0; paths && i < n; i++) {
            delivery d;
            const char *bad = load(paths[i], &d);
            char name[512];
            snprintf(name, sizeof name, "%s-%s", k ? "token" : "delivery", d.f.name);
            if (bad) {
                fprintf(stderr, "%s: %s\n", paths[i], bad);
                rc = 1;
            } else if (!k) {
                char *h = curl_headers(&d);
                size_t hl = strlen(h);
                char *seed = malloc(hl + 1 + d.body_len);
                memcpy(seed, h, hl);
                seed[hl] = '\n';
                memcpy(seed + hl + 1, d.body, d.body_len);
                snprintf(sub, sizeof sub, "%s/cloudevent", out);
                rc |= case_write(sub, name, seed, hl + 1 + d.body_len);
                bool envelope = d.body_len && memmem(d.body, d.body_len, "\"message\"", 9);
                for (size_t j = 0; j < d.n_headers; j++)
                    envelope &= strcasecmp(d.headers[j].key, "ce-specversion") != 0;
                snprintf(sub, sizeof sub, "%s/pubsub_push", out);
                if (envelope)
                    rc |= case_write(sub, name, d.body, d.body_len);
                free(seed);
                free(h);
            } else {
                char *token = case_token_mint(&d.f, &H.keys, (int64_t)time(NULL), &bad);
                char *mutated = token ? case_token_mutate(&d.f, token, &bad) : NULL;
                snprintf(sub, sizeof sub, "%s/jwt", out);
                if (mutated)
                    rc |= case_write(sub, name, mutated, strlen(mutated));
                free(mutated);
                free(token);
            }
            case_free(&d.f);
        }
        case_list_free(paths, paths ? n : 0);
    }
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--emit") == 0)
        return emit(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "--authorize") == 0)
        return authorize(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0) {
        case_keys_make(&H.keys);
        int rc = seeds(argv[2]);
        case_keys_free(&H.keys);
        return rc;
    }
    if (harness_setup() != 0) {
        fprintf(stderr, "test_delivery_cases: setup failed\n");
        return 1;
    }
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            rc |= case_run_all(argv[i], argv[i], run_case);
    } else {
        rc |= case_run_all("deliveries", DELIVERIES_DIR, run_case);
        rc |= case_run_all("tokens", TOKENS_DIR, run_case);
    }
    harness_teardown();
    return rc;
}

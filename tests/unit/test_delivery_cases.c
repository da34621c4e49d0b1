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
#include <dirent.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "builtins.h"
#include "config.h"
#include "glue.h"
#include "jwt.h"
#include "ledger.h"
#include "log.h"
#include "scoreboard.h"
#include "service.h"
#include "support/capture.h"
#include "support/case_file.h"
#include "support/case_request.h"
#include "support/case_token.h"
#include "support/mini_http.h"

#include "support/delivery_case.h"

#define DELIVERIES_DIR "tests/data/deliveries"
#define TOKENS_DIR "tests/data/tokens"
/* ---- the service ------------------------------------------------------------------------ */

typedef struct {
    case_keys keys;
    mini_http *jwks;
    char dir[64];
    config cfg;
} harness;

static harness H;

static int harness_setup(void)
{
    capture_clear_config_env(); /* the environment overrides the config file */
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
    /* One ledger for every case, as the end-to-end runner's pool has: each case's event is its
     * own (its id is the case's name), or it would be a duplicate of another case's. */
    char url[160];
    snprintf(url, sizeof url, "sqlite://%s/ledger.db", H.dir);
    config_set_string(&H.cfg.ledger.url, url);
    ledger *made = NULL; /* as the pool's start does: workers open only a ledger that exists */
    char lerr[LEDGER_ERR_MAX];
    if (ledger_create(url, &made, lerr) != LEDGER_OK) {
        fprintf(stderr, "test_delivery_cases: ledger_create: %s\n", lerr);
        return -1;
    }
    ledger_close(made);
    return 0;
}

/* What a case's child process frees of the harness before it exits (the parent owns the
 * server and the directory). */
static void harness_teardown_child(void)
{
    config_free(&H.cfg);
    case_keys_free(&H.keys);
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

/* Delivers D once; LOG (when not NULL) receives what the service logged meanwhile (malloc'd). */
static void deliver(service *svc, const delivery *d, const char *authorization, arena *a,
                    http_response *resp, char **log, verdict *v)
{
    case_item headers[DELIVERY_MAX_HEADERS + 1];
    memcpy(headers, d->headers, d->n_headers * sizeof *headers);
    size_t n = d->n_headers;
    if (authorization)
        headers[n++] = (case_item){"Authorization", authorization};
    http_request req;
    memset(resp, 0, sizeof *resp);
    if (glue_request_from_params(case_fcgi_params(a, d->method, d->uri, headers, n, d->body_len), a,
                                 &req) != 0) {
        missed(v, "%s: glue_request_from_params failed", d->f.path);
        return;
    }
    req.body = (const unsigned char *)d->body;
    req.body_len = d->body_len;
    FILE *capture = log ? tmpfile() : NULL;
    int saved = -1;
    if (capture) {
        fflush(stderr);
        saved = dup(2);
        dup2(fileno(capture), 2);
    }
    service_handle(svc, &req, a, resp);
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

/* Runs the case at PATH and writes what it missed into V (NULL: nothing). In a child process
 * of its own (run_case), so that what the service keeps per process (its log budget, its
 * caches) starts afresh for every case. */
static void run_in_child(const char *path, verdict *v)
{
    delivery d;
    const char *bad = delivery_load(path, &d);
    v->a = d.f.a;
    if (bad) {
        missed(v, "%s: %s", path, bad);
        return;
    }
    char *token = case_token_mint(&d.f, &H.keys, (int64_t)time(NULL), &bad);
    char *mutated = token ? case_token_mutate(&d.f, token, &bad) : NULL;
    if (!mutated) {
        missed(v, "%s: %s", path, bad ? bad : "cannot mint the token");
        free(token);
        return;
    }
    char *authorization = case_token_authorization(&d.f, mutated);
    const char *jwt_want = case_value(&d.f, "jwt");
    if (jwt_want) { /* the jwt layer's own verdict on the token */
        jwt t;
        jwt_status st = jwt_parse(mutated, strlen(mutated), &t);
        if (st == JWT_OK)
            st = jwt_verify(&t, H.keys.ours);
        jwt_clear(&t);
        if (strcmp(jwt_status_name(st), jwt_want) != 0)
            missed(v, "%s: jwt says %s, want %s", path, jwt_status_name(st), jwt_want);
    }
    char err[256];
    service *svc = service_new(&H.cfg, NULL, err, sizeof err);
    if (svc) {
        arena *a = arena_new(8192);
        http_response resp = {0};
        char *log = NULL;
        for (int i = 1; i <= d.repeat; i++)
            deliver(svc, &d, authorization, a, &resp, i == d.repeat ? &log : NULL, v);
        delivery_check_answer(&d, &resp, v);
        delivery_check_log(&d, log ? log : "", v);
        free(log);
        arena_free(a);
        service_free(svc);
    } else {
        missed(v, "%s: service_new: %s", path, err);
    }
    free(authorization);
    free(mutated);
    free(token);
}

static void run_case(void **state)
{
    const char *path = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    long fetches = mini_http_requests(H.jwks);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        verdict v = {NULL, NULL};
        run_in_child(path, &v);
        const char *text = v.missed ? v.missed : "";
        bool ok = write(fds[1], text, strlen(text)) == (ssize_t)strlen(text);
        close(fds[1]);
        arena_free(v.a);
        harness_teardown_child();
        exit(ok ? 0 : 3);
    }
    close(fds[1]);
    char missed_text[8192];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof missed_text - 1 &&
           (got = read(fds[0], missed_text + n, sizeof missed_text - 1 - n)) > 0)
        n += (size_t)got;
    missed_text[n] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: the case's process ended with %s %d", path,
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    fetches = mini_http_requests(H.jwks) - fetches;
    case_file f;
    if (case_load(path, &f) != NULL) {
        case_free(&f);
        fail_msg("%s: %s", path, missed_text);
    }
    const char *want_fetches = case_value(&f, "key-fetches");
    if (!n && want_fetches && fetches != atol(want_fetches))
        n = (size_t)snprintf(missed_text, sizeof missed_text,
                             "%s: %ld fetches of the key set, want %s", path, fetches,
                             want_fetches);
    /* A case that shows a known bug ("bug: WHERE, WHAT") must still miss what it expects. */
    const char *bug = case_value(&f, "bug");
    char bug_text[1024];
    snprintf(bug_text, sizeof bug_text, "%s", bug ? bug : "");
    case_free(&f);
    if (bug && !n)
        fail_msg("%s: passes: the known bug (%s) is fixed; remove its bug: line", path, bug_text);
    else if (bug)
        print_message("known bug (%s):\n  %s\n", bug_text, missed_text);
    else if (n)
        fail_msg("%s", missed_text);
}

static int by_path(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* ---- the end-to-end runner's side: --emit-all, --authorize-all, --check-all --------------- */

static int write_text(const char *dir, const char *name, const char *text)
{
    return case_write(dir, name, text, strlen(text));
}

/* OUT/NAME/ for each case: case (its path), request ("METHOD PATH"), repeat, headers (curl -H
 * @file), body, and mint.json (the emulator's mint request) or token (a literal one), or
 * skip-e2e with the reason the case is not sent. */
static int emit_one(const char *path, const char *out)
{
    delivery d;
    const char *bad = delivery_load(path, &d);
    if (bad) {
        fprintf(stderr, "%s: %s\n", path, bad);
        case_free(&d.f);
        return 1;
    }
    char dir[4096], text[4096];
    snprintf(dir, sizeof dir, "%s/%s", out, d.f.name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        case_free(&d.f);
        return 1;
    }
    const char *why = NULL;
    json_t *mint = case_token_mint_request(&d.f, (int64_t)time(NULL), &why);
    char *mt = mint ? json_dumps(mint, JSON_COMPACT) : NULL;
    char *headers = delivery_curl_headers(&d);
    const char *e2e = case_value(&d.f, "e2e"), *bug = case_value(&d.f, "bug");
    const char *literal = case_value(&d.f, "token");
    const char *skip = e2e && strncmp(e2e, "no", 2) == 0 ? e2e
                       : bug                             ? "a known bug, shown by the unit runner"
                                                         : NULL;
    int rc = write_text(dir, "case", path) | write_text(dir, "headers", headers) |
             case_write(dir, "body", d.body ? d.body : "", d.body_len);
    snprintf(text, sizeof text, "%s %s\n", d.method, d.uri);
    rc |= write_text(dir, "request", text);
    snprintf(text, sizeof text, "%d\n", d.repeat);
    rc |= write_text(dir, "repeat", text);
    if (skip)
        rc |= write_text(dir, "skip-e2e", skip);
    else if (literal)
        rc |= write_text(dir, "token", literal);
    else if (mt)
        rc |= write_text(dir, "mint.json", mt);
    else {
        fprintf(stderr, "%s: the end-to-end runner cannot send its token (%s): say e2e: no\n", path,
                why);
        rc = 1;
    }
    free(headers);
    free(mt);
    json_decref(mint);
    case_free(&d.f);
    return rc ? 1 : 0;
}

/* The case directories under OUT, sorted. */
static char **case_dirs(const char *out, size_t *n)
{
    DIR *dir = opendir(out);
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 128;
            char **bigger = realloc(names, cap * sizeof *names);
            if (!bigger)
                abort();
            names = bigger;
        }
        if (asprintf(&names[(*n)++], "%s/%s", out, e->d_name) < 0)
            abort();
    }
    if (dir)
        closedir(dir);
    if (*n)
        qsort(names, *n, sizeof *names, by_path);
    return names;
}

/* DIR/NAME as a malloc'd string (its final newline dropped), or NULL. */
static char *read_text(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    char *t = case_read_file(path, &len);
    if (t && len && t[len - 1] == '\n')
        t[len - 1] = '\0';
    return t;
}

/* For each case sent: DIR/authorization, the Authorization line (curl -H syntax; empty for
 * none) made of DIR/token or the token in DIR/minted.json, with the case's mutations. */
static int authorize_all(const char *out)
{
    size_t n;
    char **dirs = case_dirs(out, &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char *skip = read_text(dirs[i], "skip-e2e"), *path = read_text(dirs[i], "case");
        char *token = read_text(dirs[i], "token"), *minted = read_text(dirs[i], "minted.json");
        json_t *m = minted ? json_loads(minted, 0, NULL) : NULL;
        const char *t = token ? token : json_string_value(json_object_get(m, "token"));
        delivery d;
        const char *bad = skip || !path ? NULL : delivery_load(path, &d);
        if (!skip && path && !bad && !t)
            bad = minted ? minted : "no token was minted";
        char *mutated = !skip && path && !bad ? case_token_mutate(&d.f, t, &bad) : NULL;
        if (mutated) {
            char *value = case_token_authorization(&d.f, mutated), line[16384] = "";
            if (value)
                snprintf(line, sizeof line, *value ? "Authorization: %s\n" : "Authorization;\n",
                         value);
            rc |= write_text(dirs[i], "authorization", line);
            free(value);
        } else if (!skip) {
            fprintf(stderr, "%s: %s\n", path ? path : dirs[i], bad ? bad : "no case");
            rc = 1;
        }
        if (!skip && path)
            case_free(&d.f);
        free(mutated);
        json_decref(m);
        free(minted);
        free(token);
        free(path);
        free(skip);
        free(dirs[i]);
    }
    free(dirs);
    return rc ? 1 : 0;
}

/* Whether D checks the answer's header NAME. */
static bool checks_header(const delivery *d, const char *name)
{
    for (size_t i = 0; i < d->f.n_items; i++)
        if (strncmp(d->f.items[i].key, "header.", 7) == 0 &&
            strcasecmp(d->f.items[i].key + 7, name) == 0)
            return true;
    return false;
}

/* The answer curl wrote: DIR/answer-headers (curl -D: the status line, then headers) and
 * DIR/answer, as an http_response in A with the headers D checks. */
static int read_answer(const char *dir, const delivery *d, arena *a, http_response *r)
{
    memset(r, 0, sizeof *r);
    char *head = read_text(dir, "answer-headers"), *body = read_text(dir, "answer");
    if (!head) {
        free(body);
        return -1;
    }
    char *save = NULL;
    for (char *line = strtok_r(head, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "HTTP/", 5) == 0) {
            r->status = atoi(strchr(line, ' ') ? strchr(line, ' ') + 1 : "0");
            r->n_headers = 0; /* an interim answer's headers are not the answer's */
        } else if (colon && r->n_headers < HTTP_MAX_RESPONSE_HEADERS) {
            *colon = '\0';
            if (checks_header(d, line))
                r->headers[r->n_headers++] =
                    (http_header){arena_strdup(a, line), arena_strdup(a, colon + 2)};
        }
    }
    r->body = body ? arena_strdup(a, body) : NULL;
    r->body_len = body ? strlen(body) : 0;
    free(head);
    free(body);
    return 0;
}

/* The lines of POOL_LOG whose trace is TRACE, in A. */
static const char *lines_of_trace(const char *pool_log, const char *trace, arena *a)
{
    size_t cap = 1024, n = 0;
    char *out = arena_alloc(a, cap);
    out[0] = '\0';
    for (const char *line = pool_log; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        json_t *j = json_loadb(line, len, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "logging.googleapis.com/trace"));
        const char *id = t && strrchr(t, '/') ? strrchr(t, '/') + 1 : t;
        if (id && strcmp(id, trace) == 0) {
            if (n + len + 2 > cap) {
                char *bigger = arena_alloc(a, cap = (n + len + 2) * 2);
                memcpy(bigger, out, n + 1);
                out = bigger;
            }
            memcpy(out + n, line, len);
            n += len;
            out[n++] = '\n';
            out[n] = '\0';
        }
        json_decref(j);
        line = nl ? nl + 1 : line + len;
    }
    return out;
}

/* Checks each case sent (the answer curl wrote, the pool's log lines of its trace, DIR/trace)
 * as the unit runner checks its own; prints "NAME ok", or "NAME: what it missed", a line each. */
static int check_all(const char *out, const char *pool_log_path)
{
    size_t n, len;
    char **dirs = case_dirs(out, &n);
    char *pool_log = case_read_file(pool_log_path, &len);
    int rc = pool_log ? 0 : 1;
    for (size_t i = 0; pool_log && i < n; i++) {
        char *skip = read_text(dirs[i], "skip-e2e"), *path = read_text(dirs[i], "case");
        char *trace = read_text(dirs[i], "trace");
        const char *name = strrchr(dirs[i], '/') + 1;
        delivery d;
        if (!skip && path && trace && !delivery_load(path, &d)) {
            verdict v = {d.f.a, NULL};
            http_response r;
            if (read_answer(dirs[i], &d, d.f.a, &r) != 0)
                missed(&v, "no answer");
            else {
                delivery_check_answer(&d, &r, &v);
                delivery_check_log(&d, lines_of_trace(pool_log, trace, d.f.a), &v);
            }
            if (v.missed) { /* one line a case: the log lines it quotes joined by " | " */
                char *one = arena_strdup(d.f.a, v.missed);
                for (char *p = one; *p; p++)
                    if (*p == '\n')
                        *p = p[1] ? '|' : ' ';
                printf("%s: %s\n", name, one);
            } else
                printf("%s ok\n", name);
            case_free(&d.f);
        } else if (!skip) {
            printf("%s: not read (%s)\n", name, path ? path : "no case file");
            if (path)
                case_free(&d.f);
        }
        free(trace);
        free(path);
        free(skip);
        free(dirs[i]);
    }
    free(dirs);
    free(pool_log);
    return rc;
}

/* ---- --seeds -------------------------------------------------------------------------------- */

/* One seed per case and target: the request in fuzz_cloudevent's format (header lines, a
 * blank line, the body) and a push envelope's body for fuzz_pubsub_push; a token case's token
 * (minted now, mutated) for fuzz_jwt. */
static int seed(const char *path, const char *out)
{
    delivery d;
    const char *bad = delivery_load(path, &d);
    bool token_case = strstr(path, TOKENS_DIR) != NULL;
    char dir[4096], name[512];
    snprintf(name, sizeof name, "%s-%s", token_case ? "token" : "delivery", d.f.name);
    int rc = 0;
    if (bad) {
        fprintf(stderr, "%s: %s\n", path, bad);
        rc = 1;
    } else if (!token_case) {
        char *h = delivery_curl_headers(&d);
        size_t hl = strlen(h);
        char *text = malloc(hl + 1 + d.body_len);
        memcpy(text, h, hl);
        text[hl] = '\n';
        memcpy(text + hl + 1, d.body, d.body_len);
        snprintf(dir, sizeof dir, "%s/cloudevent", out);
        rc |= case_write(dir, name, text, hl + 1 + d.body_len);
        bool envelope = d.body_len && memmem(d.body, d.body_len, "\"message\"", 9);
        for (size_t j = 0; j < d.n_headers; j++)
            envelope &= strcasecmp(d.headers[j].key, "ce-specversion") != 0;
        snprintf(dir, sizeof dir, "%s/pubsub_push", out);
        if (envelope)
            rc |= case_write(dir, name, d.body, d.body_len);
        free(text);
        free(h);
    } else {
        char *token = case_token_mint(&d.f, &H.keys, (int64_t)time(NULL), &bad);
        char *mutated = token ? case_token_mutate(&d.f, token, &bad) : NULL;
        snprintf(dir, sizeof dir, "%s/jwt", out);
        if (mutated)
            rc |= case_write(dir, name, mutated, strlen(mutated));
        free(mutated);
        free(token);
    }
    case_free(&d.f);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--emit-all") == 0) {
        int rc = mkdir(argv[2], 0755) != 0 && errno != EEXIST;
        for (int i = 3; i < argc; i++)
            rc |= emit_one(argv[i], argv[2]);
        return rc;
    }
    if (argc == 3 && strcmp(argv[1], "--authorize-all") == 0)
        return authorize_all(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--check-all") == 0)
        return check_all(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0) {
        case_keys_make(&H.keys);
        const char *const targets[] = {"cloudevent", "jwt", "pubsub_push", NULL};
        int rc = case_seeds(DELIVERIES_DIR, argv[2], targets, seed) |
                 case_seeds(TOKENS_DIR, argv[2], targets, seed);
        case_keys_free(&H.keys);
        return rc;
    }
    builtins_register(); /* as the binaries do: the echo function */
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

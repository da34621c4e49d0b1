/* Unit tests for the request path (service.c, lease.c, function.c) without a transport:
 * the status code of every outcome a function can report, duplicates, a busy claim, an
 * unreachable ledger, readiness, and the scoreboard's /status and /metrics. (Requests with an
 * answer of their own, the routes among them, are delivery cases: tests/data/deliveries/.) The
 * ledger is a real SQLite file in a temp dir; auth is disabled (its attacks are token cases:
 * tests/data/tokens/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "clk.h"
#include "function.h"
#include "ledger.h"
#include "scoreboard.h"
#include "metrics.h"
#include "service.h"

/* A function whose outcome each test chooses, counting its runs. */
static fn_status next_status;
static bool next_redeliverable;
static int runs, reclaimed_runs;

static void scripted_handle(const cloudevent *ev, fn_context *ctx, fn_result *out)
{
    (void)ev;
    runs++;
    reclaimed_runs += ctx->reclaimed;
    out->status = next_status;
    out->redeliverable = next_redeliverable;
    if (next_status == FN_DONE)
        out->outcome = json_pack("{s:s, s:s, s:s}", "status", "submitted", "rule", "churn",
                                 "resource", "projects/p/x/1");
    if (next_status == FN_FAILED)
        out->error = "INVALID_ARGUMENT: bad template";
    if (next_status == FN_RETRY) {
        out->error = "UNAVAILABLE: try later";
        out->retry_after_s = 7;
    }
}

static const fn_def scripted = {.name = "scripted", .handle = scripted_handle};

typedef struct {
    config cfg;
    scoreboard *sb;
    service *svc;
    arena *a;
    char dir[64];
    char url[128];
} fixture;

static int setup(void **state)
{
    static int registered;
    if (!registered)
        assert_int_equal(fn_register(&scripted), 0);
    registered = 1;
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/retrain-svc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "sqlite://%s/ledger.db", f->dir);
    config_defaults(&f->cfg);
    config_set_string(&f->cfg.listen, "unix:/tmp/unused.sock");
    config_set_string(&f->cfg.ledger.url, f->url);
    config_set_string(&f->cfg.function, "scripted");
    f->cfg.auth.disabled = true;
    f->sb = scoreboard_create(4);
    char err[256];
    ledger *made = NULL; /* as the pool's start does: workers open only a ledger that exists */
    char lerr[LEDGER_ERR_MAX];
    if (ledger_create(f->url, &made, lerr) != LEDGER_OK)
        fail_msg("ledger_create: %s", lerr);
    ledger_close(made);
    f->svc = service_new(&f->cfg, f->sb, err, sizeof err);
    if (!f->svc)
        fail_msg("service_new: %s", err);
    f->a = arena_new(4096);
    runs = reclaimed_runs = 0;
    next_redeliverable = false;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    service_free(f->svc);
    scoreboard_destroy(f->sb);
    arena_free(f->a);
    config_free(&f->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Sends one request; returns the answer's body parsed (caller decrefs). */
static json_t *call(fixture *f, const char *method, const char *path, const char *id,
                    http_response *resp)
{
    http_header h[] = {{"ce-specversion", "1.0"},
                       {"ce-type", "t.v1"},
                       {"ce-source", "//unit"},
                       {"ce-id", id ? id : "e-1"},
                       {"content-type", "application/json"}};
    http_request req = {.method = method,
                        .path = path,
                        .query = "",
                        .remote_addr = "",
                        .headers = h,
                        .n_headers = id ? 5 : 0,
                        .body = (const unsigned char *)"{\"k\":1}",
                        .body_len = 7};
    memset(resp, 0, sizeof *resp);
    service_handle(f->svc, &req, f->a, resp);
    json_t *body = json_loadb(resp->body, resp->body_len, 0, NULL);
    if (strcmp(resp->content_type, "application/json") == 0)
        assert_non_null(body);
    return body;
}

static const char *header(const http_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Readiness with auth off: the ledger answers. (The other routes, and the events refused before
 * anything runs, are delivery cases: tests/data/deliveries/, run by test_delivery_cases.) */
static void test_readyz(void **state)
{
    fixture *f = *state;
    http_response r;
    json_t *b = call(f, "GET", "/readyz", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "ready");
    json_decref(b);
    assert_int_equal(runs, 0);
}

static void test_done_then_duplicate(void **state)
{
    fixture *f = *state;
    http_response r;
    next_status = FN_DONE;
    json_t *b = call(f, "POST", "/", "d-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "submitted");
    assert_string_equal(str(b, "resource"), "projects/p/x/1");
    assert_string_equal(str(json_object_get(b, "event"), "id"), "d-1");
    json_decref(b);
    b = call(f, "POST", "/", "d-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "duplicate");
    assert_string_equal(str(b, "resource"), "projects/p/x/1"); /* the stored outcome */
    assert_string_equal(str(b, "recorded_status"), "done");
    json_decref(b);
    assert_int_equal(runs, 1);
}

/* The second copy of a finished event is answered from the worker's memory, word for word as
 * the ledger's answer: even with the record gone (as after gc), nothing runs again. */
static void test_duplicates_answered_from_memory(void **state)
{
    fixture *f = *state;
    http_response r;
    next_status = FN_DONE;
    json_decref(call(f, "POST", "/", "m-1", &r));
    json_decref(call(f, "POST", "/", "m-1", &r));
    char *first = strndup(r.body, r.body_len);
    ledger *l;
    char err[LEDGER_ERR_MAX];
    int64_t removed = 0;
    assert_int_equal(ledger_open(f->url, &l, err), LEDGER_OK);
    sleep_ms(5);
    assert_int_equal(ledger_gc(l, 0, &removed), LEDGER_OK);
    assert_true(removed >= 1);
    ledger_close(l);
    json_t *b = call(f, "POST", "/", "m-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "duplicate");
    assert_int_equal(r.body_len, strlen(first));
    assert_memory_equal(r.body, first, r.body_len);
    assert_int_equal(runs, 1);
    json_decref(b);
    free(first);
}

static void test_failed_is_acknowledged_and_recorded(void **state)
{
    fixture *f = *state;
    http_response r;
    next_status = FN_FAILED;
    json_t *b = call(f, "POST", "/", "f-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "failed");
    assert_string_equal(str(b, "error"), "INVALID_ARGUMENT: bad template");
    json_decref(b);
    ledger *l;
    char err[LEDGER_ERR_MAX], key[LEDGER_KEY_HEX + 1];
    assert_int_equal(ledger_open(f->url, &l, err), LEDGER_OK);
    ledger_key("//unit", "f-1", key);
    ledger_record rec = {0};
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    assert_string_equal(rec.status, "failed");
    assert_string_equal(rec.last_error, "INVALID_ARGUMENT: bad template");
    assert_non_null(rec.event_json); /* kept for replay */
    ledger_record_clear(&rec);
    ledger_close(l);
}

/* A dead letter of the event's own making stays one: the next delivery is a duplicate. */
static void test_failed_shadows_redeliveries(void **state)
{
    fixture *f = *state;
    http_response r;
    next_status = FN_FAILED;
    json_decref(call(f, "POST", "/", "f-2", &r));
    next_status = FN_DONE;
    json_t *b = call(f, "POST", "/", "f-2", &r);
    assert_string_equal(str(b, "status"), "duplicate");
    assert_string_equal(str(b, "recorded_status"), "failed");
    json_decref(b);
    assert_int_equal(runs, 1);
}

/* A failure in how one delivery presented the event (data it could not read) is acknowledged
 * and recorded with its reason, but the next delivery of the same event runs again, once. */
static void test_redeliverable_failure_does_not_shadow(void **state)
{
    fixture *f = *state;
    http_response r;
    next_status = FN_FAILED;
    next_redeliverable = true;
    json_t *b = call(f, "POST", "/", "u-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "failed");
    assert_true(json_is_true(json_object_get(b, "redeliverable")));
    json_decref(b);
    ledger *l;
    char err[LEDGER_ERR_MAX], key[LEDGER_KEY_HEX + 1];
    assert_int_equal(ledger_open(f->url, &l, err), LEDGER_OK);
    ledger_key("//unit", "u-1", key);
    ledger_record rec = {0};
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    assert_string_equal(rec.status, "failed");
    assert_string_equal(rec.last_error, "INVALID_ARGUMENT: bad template");
    ledger_record_clear(&rec);

    next_status = FN_DONE;
    next_redeliverable = false;
    b = call(f, "POST", "/", "u-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "submitted");
    json_decref(b);
    assert_int_equal(runs, 2);
    assert_int_equal(reclaimed_runs, 1); /* it looks for what the first attempt left */
    assert_int_equal(ledger_get(l, key, &rec), LEDGER_OK);
    assert_string_equal(rec.status, "done");
    assert_int_equal(rec.attempts, 2);
    ledger_record_clear(&rec);
    ledger_close(l);
    b = call(f, "POST", "/", "u-1", &r);
    assert_string_equal(str(b, "status"), "duplicate");
    json_decref(b);
    assert_int_equal(runs, 2);
}

static void test_retry_releases_the_claim(void **state)
{
    fixture *f = *state;
    http_response r;
    next_status = FN_RETRY;
    json_t *b = call(f, "POST", "/", "r-1", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(header(&r, "Retry-After"), "7");
    assert_string_equal(str(b, "error"), "retry");
    json_decref(b);
    /* The next delivery runs the function again at once (the claim was released). */
    next_status = FN_DONE;
    b = call(f, "POST", "/", "r-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "submitted");
    json_decref(b);
    assert_int_equal(runs, 2);
}

static void test_ignored_and_coalesced(void **state)
{
    fixture *f = *state;
    http_response r;
    next_status = FN_IGNORED;
    json_t *b = call(f, "POST", "/", "i-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "ignored");
    json_decref(b);
    next_status = FN_COALESCED;
    b = call(f, "POST", "/", "c-1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(str(b, "status"), "coalesced");
    json_decref(b);
}

static void test_busy_claim_answers_503(void **state)
{
    fixture *f = *state;
    ledger *l;
    char err[LEDGER_ERR_MAX], key[LEDGER_KEY_HEX + 1];
    assert_int_equal(ledger_open(f->url, &l, err), LEDGER_OK);
    ledger_key("//unit", "b-1", key);
    ledger_event ev = {.source = "//unit", .id = "b-1"};
    ledger_claim_result res;
    assert_int_equal(ledger_claim(l, key, &ev, 60, &res, NULL), LEDGER_OK);
    assert_int_equal(res, LEDGER_NEW);
    http_response r;
    json_t *b = call(f, "POST", "/", "b-1", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(header(&r, "Retry-After"));
    assert_string_equal(str(b, "error"), "busy");
    json_decref(b);
    assert_int_equal(runs, 0);
    ledger_close(l);
}

static void test_unreachable_ledger_never_200(void **state)
{
    (void)state;
    config cfg;
    config_defaults(&cfg);
    config_set_string(&cfg.ledger.url, "postgres://retrain:secret-pw@127.0.0.1:1/none");
    config_set_string(&cfg.function, "scripted");
    cfg.auth.disabled = true;
    char err[256];
    service *svc = service_new(&cfg, NULL, err, sizeof err);
    assert_non_null(svc); /* a database down at start may come back: the worker stays up */
    arena *a = arena_new(1024);
    http_header h[] = {
        {"ce-specversion", "1.0"}, {"ce-type", "t"}, {"ce-source", "//u"}, {"ce-id", "u-1"}};
    http_request req = {.method = "POST",
                        .path = "/",
                        .query = "",
                        .remote_addr = "",
                        .headers = h,
                        .n_headers = 4};
    http_response r = {0};
    runs = 0;
    service_handle(svc, &req, a, &r);
    assert_int_equal(r.status, 503);
    assert_null(strstr(r.body, "secret-pw"));
    assert_int_equal(runs, 0);
    http_request ready = {.method = "GET", .path = "/readyz", .query = "", .remote_addr = ""};
    memset(&r, 0, sizeof r);
    service_handle(svc, &ready, a, &r);
    assert_int_equal(r.status, 503);
    service_free(svc);
    arena_free(a);
    config_free(&cfg);
}

static void test_status_and_metrics(void **state)
{
    fixture *f = *state;
    atomic_store(&f->sb->slots[0].pid, 4242);
    atomic_store(&f->sb->slots[0].state, SB_BUSY);
    atomic_store(&f->sb->slots[0].busy_since_ms, clk_mono_ms() - 1500);
    scoreboard_record(f->sb, SB_ROUTE_EVENT, 200, 800);
    scoreboard_record(f->sb, SB_ROUTE_EVENT, 200, 3000);
    scoreboard_record(f->sb, SB_ROUTE_EVENT, 401, 100);
    atomic_store(&f->sb->restarts, 2);
    http_response r;
    json_t *b = call(f, "GET", "/status", NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *w = json_array_get(json_object_get(b, "workers"), 0);
    assert_int_equal(json_integer_value(json_object_get(w, "pid")), 4242);
    assert_string_equal(str(w, "state"), "busy");
    assert_true(json_integer_value(json_object_get(w, "busy_ms")) >= 1500);
    assert_int_equal(json_integer_value(json_object_get(b, "restarts")), 2);
    json_decref(b);
    call(f, "GET", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.content_type, "text/plain"));
    assert_non_null(strstr(r.body, "retrain_requests_total{route=\"event\",status=\"200\"} 2\n"));
    assert_non_null(strstr(r.body, "retrain_requests_total{route=\"event\",status=\"401\"} 1\n"));
    /* 800 us falls in le=0.001, 3000 us in le=0.005; buckets are cumulative. */
    assert_non_null(strstr(r.body, "duration_seconds_bucket{route=\"event\",le=\"0.001\"} 2\n"));
    assert_non_null(strstr(r.body, "duration_seconds_bucket{route=\"event\",le=\"0.005\"} 3\n"));
    assert_non_null(strstr(r.body, "retrain_workers{state=\"busy\"} 1\n"));
    assert_non_null(strstr(r.body, "retrain_worker_restarts_total 2\n"));
    /* The runs come from the ledger, which has none yet. */
    assert_non_null(strstr(r.body, "retrain_ledger_up 1\n"));
    assert_non_null(strstr(r.body, "retrain_runs_open 0\n"));
    assert_null(strstr(r.body, "retrain_runs{"));
}

/* Runs by rule and state: a label value escaped as the exposition format says, the open ones
 * summed, and no run gauges (the ledger down) when the ledger could not say. */
static void test_run_metrics(void **state)
{
    fixture *f = *state;
    arena *a = arena_new(4096);
    run_count runs[] = {
        {.rule = "churn",
         .state = RUN_SUCCEEDED,
         .count = 7,
         .within = {1, 3, 5, 6, 6, 7, 7, 7, 7},
         .duration_ms_sum = 4321500},
        {.rule = "churn", .state = RUN_RUNNING, .count = 2},
        {.rule = "we\"ird\\\n", .state = RUN_QUEUED, .count = 1, .queued_events = 40}};
    size_t len;
    char *text = metrics_render(f->sb, &(metrics_ledger){.runs = runs, .n_runs = 3}, a, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "retrain_runs{rule=\"churn\",state=\"succeeded\"} 7\n"));
    assert_non_null(strstr(text, "retrain_runs{rule=\"churn\",state=\"running\"} 2\n"));
    assert_non_null(strstr(text, "retrain_runs{rule=\"we\\\"ird\\\\\\n\",state=\"queued\"} 1\n"));
    assert_non_null(strstr(text, "retrain_runs_open 3\n"));
    assert_non_null(strstr(text, "retrain_queued_events{rule=\"we\\\"ird\\\\\\n\"} 40\n"));
    assert_null(strstr(text, "retrain_queued_events{rule=\"churn\""));
    assert_non_null(strstr(text, "# TYPE retrain_run_duration_seconds histogram\n"));
    assert_non_null(strstr(
        text,
        "retrain_run_duration_seconds_bucket{rule=\"churn\",state=\"succeeded\",le=\"60\"} 1\n"));
    assert_non_null(strstr(
        text,
        "retrain_run_duration_seconds_bucket{rule=\"churn\",state=\"succeeded\",le=\"900\"} 5\n"));
    assert_non_null(strstr(
        text,
        "retrain_run_duration_seconds_bucket{rule=\"churn\",state=\"succeeded\",le=\"+Inf\"} 7\n"));
    assert_non_null(strstr(
        text, "retrain_run_duration_seconds_sum{rule=\"churn\",state=\"succeeded\"} 4321.500\n"));
    assert_non_null(
        strstr(text, "retrain_run_duration_seconds_count{rule=\"churn\",state=\"succeeded\"} 7\n"));
    assert_null(
        strstr(text, "retrain_run_duration_seconds_count{rule=\"churn\",state=\"running\""));
    /* Vertex calls, counted by any process of the pool in its shared memory. */
    scoreboard_count_call("GET customJobs", 200); /* not counted: not attached yet */
    scoreboard_count_in(f->sb);
    scoreboard_count_call("GET customJobs", 200);
    scoreboard_count_call("GET customJobs", 200);
    scoreboard_count_call("GET customJobs", 429);
    scoreboard_count_call("POST customJobs", 0);
    scoreboard_count_call("POST cancel", 418);
    for (int i = 0; i < SB_CALLS + 5; i++) { /* more names than the table holds */
        char name[32];
        snprintf(name, sizeof name, "GET x%d", i);
        scoreboard_count_call(name, 200);
    }
    scoreboard_count_in(NULL);
    text = metrics_render(f->sb, &(metrics_ledger){.runs = runs, .n_runs = 3}, a, &len);
    assert_non_null(strstr(
        text, "retrain_vertex_calls_total{method=\"GET\",call=\"customJobs\",code=\"200\"} 2\n"));
    assert_non_null(strstr(
        text, "retrain_vertex_calls_total{method=\"GET\",call=\"customJobs\",code=\"429\"} 1\n"));
    assert_non_null(strstr(
        text, "retrain_vertex_calls_total{method=\"POST\",call=\"customJobs\",code=\"none\"} 1\n"));
    assert_non_null(strstr(
        text, "retrain_vertex_calls_total{method=\"POST\",call=\"cancel\",code=\"other\"} 1\n"));
    /* 47 names fit: 3 above and x0..x43; the 9 after them are "other". */
    assert_non_null(
        strstr(text, "retrain_vertex_calls_total{method=\"GET\",call=\"x43\",code=\"200\"} 1\n"));
    assert_null(strstr(text, "call=\"x44\""));
    assert_non_null(
        strstr(text, "retrain_vertex_calls_total{method=\"\",call=\"other\",code=\"200\"} 9\n"));
    text = metrics_render(f->sb, NULL, a, &len);
    assert_non_null(strstr(text, "retrain_ledger_up 0\n"));
    assert_null(strstr(text, "retrain_runs"));
    arena_free(a);
}

/* One series' value in the exposition TEXT ("NAME{LABELS} VALUE"), or -1 when absent. */
static long long series(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atoll(p + n + 1);
    return -1;
}

/* What happened, counted where it happens and rendered by any worker. */
static void test_counts_of_what_happened(void **state)
{
    fixture *f = *state;
    http_response r;
    scoreboard_count_in(f->sb);
    next_status = FN_DONE;
    json_decref(call(f, "POST", "/", "w-1", &r)); /* submitted */
    json_decref(call(f, "POST", "/", "w-1", &r)); /* duplicate, from the ledger */
    json_decref(call(f, "POST", "/", "w-1", &r)); /* duplicate, from the worker's memory */
    next_status = FN_RETRY;
    json_decref(call(f, "POST", "/", "w-2", &r)); /* retried */
    json_decref(call(f, "POST", "/", NULL, &r));  /* no ce-* at all: malformed */
    scoreboard_count_event(NULL, SB_EVENT_IGNORED);
    for (int i = 0; i < SB_RULES + 3; i++) { /* more rules than the table holds */
        char rule[16];
        snprintf(rule, sizeof rule, "r%d", i);
        scoreboard_count_event(rule, SB_EVENT_BATCHED);
    }
    scoreboard_count_auth_refusal(AUTH_EXPIRED);
    scoreboard_count_auth_refusal(AUTH_EXPIRED);
    scoreboard_count_auth_refusal(0);  /* AUTH_OK is no refusal */
    scoreboard_count_auth_refusal(99); /* out of range: dropped */
    scoreboard_count_call("GET storage.objects.get", 404);
    scoreboard_count_call("GET customJobs", 200);
    scoreboard_count_token_refresh(true);
    scoreboard_count_token_refresh(false);
    scoreboard_count_jwks_refresh(false);
    scoreboard_jwks_in_use(clk_wall_ms() / 1000 - 30, 3);
    scoreboard_count_in(NULL);
    scoreboard_count_event("churn", SB_EVENT_SUBMITTED); /* detached: not counted */
    size_t len;
    char *text = metrics_render(f->sb, NULL, f->a, &len);
    assert_non_null(text);
    assert_int_equal(series(text, "retrain_events_total{rule=\"churn\",outcome=\"submitted\"}"), 1);
    assert_int_equal(series(text, "retrain_events_total{rule=\"churn\",outcome=\"duplicate\"}"), 2);
    assert_int_equal(series(text, "retrain_events_total{rule=\"\",outcome=\"retried\"}"), 1);
    assert_int_equal(series(text, "retrain_events_total{rule=\"\",outcome=\"malformed\"}"), 1);
    assert_int_equal(series(text, "retrain_events_total{rule=\"\",outcome=\"ignored\"}"), 1);
    /* 63 names fit: churn, "" and r0..r60; the 6 after them are "other". */
    assert_int_equal(series(text, "retrain_events_total{rule=\"r60\",outcome=\"batched\"}"), 1);
    assert_int_equal(series(text, "retrain_events_total{rule=\"r61\",outcome=\"batched\"}"), -1);
    assert_int_equal(series(text, "retrain_events_total{rule=\"other\",outcome=\"batched\"}"), 6);
    assert_int_equal(series(text, "retrain_auth_refusals_total{reason=\"expired\"}"), 2);
    assert_int_equal(series(text, "retrain_auth_refusals_total{reason=\"bad_signature\"}"), 0);
    assert_int_equal(series(text, "retrain_auth_refusals_total{reason=\"ok\"}"), -1);
    assert_int_equal(series(text, "retrain_storage_calls_total{method=\"GET\",call=\"storage."
                                  "objects.get\",code=\"404\"}"),
                     1);
    assert_null(strstr(text, "retrain_vertex_calls_total{method=\"GET\",call=\"storage."));
    assert_int_equal(
        series(text, "retrain_vertex_calls_total{method=\"GET\",call=\"customJobs\",code=\"200\"}"),
        1);
    assert_int_equal(series(text, "retrain_token_refreshes_total{result=\"ok\"}"), 1);
    assert_int_equal(series(text, "retrain_token_refreshes_total{result=\"failed\"}"), 1);
    assert_int_equal(series(text, "retrain_jwks_refreshes_total{result=\"failed\"}"), 1);
    assert_int_equal(series(text, "retrain_jwks_keys"), 3);
    long long age = series(text, "retrain_jwks_age_seconds");
    assert_true(age >= 30 && age < 60);
    /* The request path's ledger calls: claims of w-1 (twice; its third copy is answered from
     * memory) and w-2, the finish of w-1 and the release of w-2. */
    assert_int_equal(series(text, "retrain_ledger_call_duration_seconds_count{call=\"claim\"}"), 3);
    assert_int_equal(series(text, "retrain_ledger_call_duration_seconds_count{call=\"finish\"}"),
                     1);
    assert_int_equal(series(text, "retrain_ledger_call_duration_seconds_count{call=\"release\"}"),
                     1);
    assert_int_equal(series(text, "retrain_ledger_errors_total{call=\"claim\"}"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_then_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_answered_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_is_acknowledged_and_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_shadows_redeliveries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeliverable_failure_does_not_shadow, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_releases_the_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_and_coalesced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_claim_answers_503, setup, teardown),
        cmocka_unit_test(test_unreachable_ledger_never_200),
        cmocka_unit_test_setup_teardown(test_status_and_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_of_what_happened, setup, teardown),
    };
    return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}

/* Unit tests for the operator's pages (ui.h, with ui_overview.c and ui_data.c), one table against
 * both ledger backends: a ledger seeded with a promoted and a held version of one model, a run
 * that failed at Google and an object named markup, then GET /ui/ shows each rule's runs, the
 * dead letter and the model's versions with their chart, decisions and aliases, with every
 * sender's byte escaped; the event page finds an event by id and by object name with its path;
 * every answer carries the headers that forbid scripts; other methods, unknown pages, bad
 * queries and an unreachable ledger answer 405, 404, 400 and 503. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/test_store.h"

#include "alias_moves.h"
#include "arena.h"
#include "ledger.h"
#include "runs.h"
#include "ui.h"

#include <stdio.h>
#include <string.h>

#define SRC "//storage.googleapis.com/projects/_/buckets/acme-data"
#define MODEL "projects/p/locations/us-central1/models/churn"
#define EVIL_NAME "churn/\"><script>alert(1)</script>.csv"
#define EVIL_ERROR "exited (<img src=x onerror=alert(3)>)"

static test_store *cur;
static ledger *l;
static arena *a;
static char bad_run[RUN_ID_LEN + 1];

/* Event ID for OBJECT begins a run of RULE that ends in CH (after submitted); the event is
 * finished as STATUS. The run's id into RUN. */
static void seed_run(const char *id, const char *object, const char *rule, const run_change *ch,
                     const char *status, const char *error, char run[RUN_ID_LEN + 1])
{
    char key[LEDGER_KEY_HEX + 1], subject[256], outcome[128];
    ledger_key(SRC, id, key);
    snprintf(subject, sizeof subject, "objects/%s", object);
    ledger_event ev = {.source = SRC, .id = id, .type = "t", .subject = subject};
    ledger_claim_result res;
    ledger_record rec;
    assert_int_equal(ledger_claim(l, key, &ev, 60, &res, &rec), LEDGER_OK);
    ledger_hold h = ledger_hold_of(&rec);
    ledger_record_clear(&rec);
    run_record r;
    bool existed;
    assert_int_equal(runs_begin(l, &h, rule, "train_and_register", &r, &existed), LEDGER_OK);
    snprintf(run, RUN_ID_LEN + 1, "%s", r.id);
    run_record_clear(&r);
    run_change sub = {.state = RUN_SUBMITTED, .resource = "projects/p/trainingPipelines/1"};
    assert_int_equal(runs_update(l, run, &sub), LEDGER_OK);
    assert_int_equal(runs_update(l, run, ch), LEDGER_OK);
    snprintf(outcome, sizeof outcome, "{\"rule\":\"%s\",\"run\":\"%s\"}", rule, run);
    assert_int_equal(ledger_finish(l, &h, status, outcome, error), LEDGER_OK);
}

static void seed_version(const char *id, const char *object, const char *version,
                         const char *decision, double value)
{
    char mv[256], run[RUN_ID_LEN + 1], details[256];
    snprintf(mv, sizeof mv, "%s@%s", MODEL, version);
    run_change ok = {.state = RUN_SUCCEEDED,
                     .model_version = mv,
                     .model_version_id = version,
                     .decision = RUN_DECISION_PENDING};
    seed_run(id, object, "churn", &ok, "done", NULL, run);
    snprintf(details, sizeof details,
             "{\"metric\":\"auRoc\",\"candidate\":{\"version\":\"%s\",\"value\":%g},"
             "\"reason\":\"version %s <decided>\"}",
             version, value, version);
    assert_int_equal(runs_decide(l, run, decision, details, ",pending,"), LEDGER_OK);
}

static int seed(void)
{
    char err[LEDGER_ERR_MAX];
    if (ledger_create(test_store_fresh(cur, "ui%d/ledger.db"), &l, err) != LEDGER_OK)
        return -1;
    seed_version("u1", "churn/a.csv", "1", RUN_DECISION_PROMOTED, 0.8);
    seed_version("u2", EVIL_NAME, "2", RUN_DECISION_HELD, 0.7);
    alias_move m = {.model = MODEL,
                    .alias = "production",
                    .to_version = "1",
                    .by = ALIAS_BY_GATE,
                    .why = "first"};
    assert_int_equal(alias_moves_add(l, &m), LEDGER_OK);
    run_change failed = {.state = RUN_FAILED, .error_code = 13, .error_message = EVIL_ERROR};
    seed_run("b1<b>", "bad/x.csv", "bad", &failed, "failed", "run failed at Google: " EVIL_ERROR,
             bad_run);
    a = arena_new(65536);
    return a ? 0 : -1;
}

static test_store sqlite_store, pg_store;

static int sqlite_setup(void **state)
{
    (void)state;
    cur = &sqlite_store;
    return test_store_sqlite_setup(cur, "test_ui") || seed();
}

static int pg_setup(void **state)
{
    (void)state;
    cur = &pg_store;
    return test_store_pg_setup(cur, "test_ui") || seed();
}

static int done(void)
{
    ledger_close(l);
    arena_free(a);
    l = NULL;
    a = NULL;
    return 0;
}

static int sqlite_teardown(void **state)
{
    (void)state;
    done();
    return test_store_sqlite_teardown(&sqlite_store);
}

static int pg_teardown(void **state)
{
    (void)state;
    done();
    return test_store_pg_teardown(&pg_store);
}

static http_response get(ledger *from, const char *method, const char *path, const char *query)
{
    arena_reset(a);
    http_request req = {.method = method, .path = path, .query = query ? query : ""};
    http_response resp = {0};
    ui_handle(from, &req, a, &resp);
    return resp;
}

static const char *header(const http_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void assert_guarded(const http_response *r)
{
    assert_non_null(strstr(header(r, "Content-Security-Policy"), "default-src 'none'"));
    assert_null(strstr(header(r, "Content-Security-Policy"), "script-src"));
    assert_string_equal(header(r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(header(r, "Cache-Control"), "no-store");
    assert_string_equal(header(r, "Referrer-Policy"), "no-referrer");
    assert_int_equal(strlen(r->body), r->body_len);
    /* Nothing a sender wrote is markup: our pages have no script and no image. */
    assert_null(strstr(r->body, "<script"));
    assert_null(strstr(r->body, "<img"));
    assert_null(strstr(r->body, "<b>"));
}

static void test_overview(void **state)
{
    (void)state;
    http_response r = get(l, "GET", "/ui/", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_guarded(&r);
    const char *b = r.body;
    assert_non_null(strstr(b, "<section class=\"rule\" data-rule=\"churn\">"));
    assert_non_null(strstr(b, "<section class=\"rule\" data-rule=\"bad\">"));
    assert_int_equal(count(b, "<tr class=\"run state-succeeded\""), 2);
    assert_int_equal(count(b, "<tr class=\"run state-failed\""), 1);
    assert_non_null(strstr(b, "13: exited (&lt;img src=x onerror=alert(3)&gt;)"));
    assert_non_null(strstr(b, "churn/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;.csv"));
    assert_non_null(strstr(b, "href=\"/ui/event?name=churn%2F%22%3E%3Cscript%3E"));
    /* The dead letter, linked by its id. */
    assert_non_null(strstr(b, "Dead letters (<span class=\"count\">1</span>)"));
    assert_non_null(strstr(b, "<a href=\"/ui/event?id=b1%3Cb%3E\">b1&lt;b&gt;</a>"));
    /* The model: both versions, one point each, the alias where it is now. */
    assert_non_null(strstr(b, "<section class=\"model\" data-model=\"" MODEL "\">"));
    assert_int_equal(count(b, "<tr class=\"version\""), 2);
    assert_int_equal(count(b, "<circle class=\"point promoted\""), 1);
    assert_int_equal(count(b, "<circle class=\"point held\""), 1);
    assert_non_null(strstr(b, "<td class=\"aliases\">production</td><td class=\"reason\">version "
                              "1 &lt;decided&gt;</td>"));
    assert_non_null(strstr(b, "<td class=\"value\">0.7</td><td class=\"decision\">held</td>"
                              "<td class=\"aliases\"></td>"));
    assert_non_null(strstr(b, "<meta http-equiv=\"refresh\" content=\"5\">"));

    http_response head = get(l, "HEAD", "/ui/", NULL);
    assert_int_equal(head.status, 200);
}

static void test_event_by_id_and_by_name(void **state)
{
    (void)state;
    http_response r = get(l, "GET", "/ui/event", "id=u2");
    assert_int_equal(r.status, 200);
    assert_guarded(&r);
    assert_int_equal(count(r.body, "<section class=\"event\""), 1);
    assert_non_null(strstr(r.body, "<li class=\"step received\">received "));
    assert_non_null(strstr(r.body, "<li class=\"step run\">run <span class=\"id\">"));
    assert_non_null(strstr(r.body, "<li class=\"step version\">version <span class=\"id\">2</span> "
                                   "of " MODEL "</li>"));
    assert_non_null(strstr(r.body, "<li class=\"step decision\">held (auRoc 0.7): "));

    /* By name, percent-encoded as a form sends it ('+' a space). */
    r = get(l, "GET", "/ui/event",
            "name=churn%2F%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E.csv&x=+");
    assert_int_equal(r.status, 200);
    assert_guarded(&r);
    assert_int_equal(count(r.body, "<section class=\"event\""), 1);
    assert_non_null(strstr(r.body, "<span class=\"id\">u2</span>"));
    assert_non_null(strstr(r.body, "value=\"churn/&quot;&gt;&lt;script&gt;alert(1)"));

    /* The dead letter: its run failed, no version. */
    r = get(l, "GET", "/ui/event", "id=b1%3Cb%3E");
    assert_guarded(&r);
    assert_non_null(strstr(r.body, "failed: <span class=\"error\">13 exited (&lt;img"));
    assert_null(strstr(r.body, "step version"));
    assert_non_null(strstr(r.body, bad_run));

    /* Nothing found, and the bare form. */
    r = get(l, "GET", "/ui/event", "id=nope");
    assert_non_null(strstr(r.body, "<span class=\"count\">0</span> events"));
    r = get(l, "GET", "/ui/event", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "<form class=\"find\" method=\"get\" action=\"/ui/event\">"));
}

static void test_refusals(void **state)
{
    (void)state;
    http_response r = get(l, "POST", "/ui/", NULL);
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Allow"), "GET, HEAD");
    assert_guarded(&r);
    r = get(l, "GET", "/ui/nothing", NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_guarded(&r);
    r = get(l, "GET", "/ui/event", "id=%zz");
    assert_int_equal(r.status, 400);
    r = get(l, "GET", "/ui/event", "name=a%00b");
    assert_int_equal(r.status, 400);
    r = get(l, "GET", "/ui/event", "id=x%4");
    assert_int_equal(r.status, 400);
    r = get(NULL, "GET", "/ui/", NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(header(&r, "Retry-After"), "5");
    assert_guarded(&r);
    r = get(l, "GET", "/ui/style.css", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/css; charset=utf-8");
    assert_true(ui_path("/ui/"));
    assert_false(ui_path("/ui"));
    assert_false(ui_path("/status"));
}

int main(void)
{
    const struct CMUnitTest table[] = {
        cmocka_unit_test(test_overview),
        cmocka_unit_test(test_event_by_id_and_by_name),
        cmocka_unit_test(test_refusals),
    };
    int failed = cmocka_run_group_tests_name("ui_sqlite", table, sqlite_setup, sqlite_teardown);
    failed += cmocka_run_group_tests_name("ui_postgres", table, pg_setup, pg_teardown);
    return failed;
}

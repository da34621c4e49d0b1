/* service — the request path of one worker, top to bottom. See service.h.
 *
 * The event path reads in the order it runs: auth → parse → claim → function → finish →
 * answer. Every early return answers with the status Eventarc needs to see: 2xx acknowledges
 * (processed, duplicate, ignored, dead-lettered), 401/400/415 reject, and 503 asks for a retry
 * whenever something of ours or Google's is unavailable — never 200 for work not recorded. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alias_moves.h"
#include "answer_cache.h"
#include "auth.h"
#include "clk.h"
#include "cloudevent.h"
#include "function.h"
#include "runs.h"
#include "lease.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "printable.h"
#include "pubsub_push.h"
#include "ui.h"

#define RETRY_AFTER_BUSY "5"
#define RETRY_AFTER_UNAVAILABLE "10"
#define LEDGER_REOPEN_MS 1000
#define ANSWER_TTL_MS 60000 /* the ledger refreshes a record's last receipt about this often */

struct service {
    const config *cfg;
    scoreboard *sb;
    auth *auth;
    ledger *ledger; /* NULL while the store cannot be reached; reopened on demand */
    int64_t ledger_next_try_ms;
    char ledger_err[LEDGER_ERR_MAX]; /* why the last open failed, for /readyz */
    bool ledger_lost_logged;
    const fn_def *fn;
    void *fn_state;
    answer_cache *answers; /* duplicates of finished events, answered without the ledger */
};

static int open_ledger(service *svc)
{
    if (svc->ledger)
        return 0;
    int64_t now = clk_mono_ms();
    if (now < svc->ledger_next_try_ms)
        return -1;
    if (ledger_open(svc->cfg->ledger.url, &svc->ledger, svc->ledger_err) != LEDGER_OK) {
        svc->ledger = NULL;
        svc->ledger_next_try_ms = now + LEDGER_REOPEN_MS;
        log_error("ledger unavailable: %s", svc->ledger_err);
        return -1;
    }
    return 0;
}

service *service_new(const config *cfg, scoreboard *sb, char *err, size_t errlen)
{
    service *svc = calloc(1, sizeof *svc);
    if (!svc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    svc->cfg = cfg;
    svc->sb = sb;
    svc->fn = fn_lookup(cfg->function);
    if (!svc->fn) {
        snprintf(err, errlen, "function: no function is registered as \"%s\"", cfg->function);
        goto fail;
    }
    ledger_status ls = ledger_open(cfg->ledger.url, &svc->ledger, svc->ledger_err);
    if (ls == LEDGER_ERR_INVALID) {
        snprintf(err, errlen, "ledger.url: %s", svc->ledger_err);
        goto fail;
    }
    if (ls != LEDGER_OK) { /* a database that is down now may be up at the next request */
        svc->ledger = NULL;
        log_error("ledger unavailable at start (requests answer 503 until it is back): %s",
                  svc->ledger_err);
    }
    if (!(svc->auth = auth_new(&cfg->auth, err, errlen)))
        goto fail;
    if (!(svc->answers = answer_cache_new((size_t)cfg->ledger.answer_cache_size, ANSWER_TTL_MS))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (svc->fn->init && svc->fn->init(cfg, &svc->fn_state, err, errlen) != 0)
        goto fail;
    return svc;
fail:
    service_free(svc);
    return NULL;
}

void service_free(service *svc)
{
    if (!svc)
        return;
    if (svc->fn && svc->fn->fini && svc->fn_state)
        svc->fn->fini(svc->fn_state);
    auth_free(svc->auth);
    answer_cache_free(svc->answers);
    ledger_close(svc->ledger);
    free(svc);
}

/* ---- small routes ---------------------------------------------------------------------- */

static void handle_readyz(service *svc, arena *a, http_response *resp)
{
    const char *problem = NULL, *ledger_problem = NULL;
    if (open_ledger(svc) != 0)
        ledger_problem = svc->ledger_err;
    else if (ledger_ping(svc->ledger) != LEDGER_OK)
        ledger_problem = ledger_last_error(svc->ledger);
    if (ledger_problem) {
        problem = arena_printf(a, "ledger unavailable: %s", ledger_problem);
        if (!problem)
            problem = "ledger unavailable";
    } else if (!svc->cfg->auth.disabled && !auth_ready(svc->auth))
        problem = "no signing keys loaded yet";
    if (problem)
        http_response_error(resp, a, 503, "not_ready", "%s", problem);
    else
        http_response_json(resp, a, 200, json_pack("{s:s}", "status", "ready"));
}

#define METRICS_RUN_COUNTS 1024 /* (rule, state) pairs: six states of 170 rules */
#define METRICS_DECISIONS 1024  /* (rule, decision) pairs */
#define METRICS_SERVING 256     /* gated aliases */

static void clear_move(void *m)
{
    alias_move_clear(m);
}

/* What the ledger says for one scrape, in A; NULL when it cannot say. */
static const metrics_ledger *read_ledger(ledger *l, arena *a)
{
    metrics_ledger *lg = arena_zalloc(a, sizeof *lg);
    run_count *runs = arena_alloc(a, METRICS_RUN_COUNTS * sizeof *runs);
    decision_count *dec = arena_alloc(a, METRICS_DECISIONS * sizeof *dec);
    alias_move *serving = arena_zalloc(a, METRICS_SERVING * sizeof *serving);
    if (!l || !lg || !runs || !dec || !serving ||
        runs_count(l, runs, METRICS_RUN_COUNTS, &lg->n_runs) != LEDGER_OK ||
        runs_decision_counts(l, dec, METRICS_DECISIONS, &lg->n_decisions) != LEDGER_OK ||
        ledger_count_status(l, "failed", &lg->dead_letters) != LEDGER_OK)
        return NULL;
    alias_move_query q = {.latest = true, .limit = METRICS_SERVING};
    if (alias_moves_list(l, &q, serving, METRICS_SERVING, &lg->n_serving) != LEDGER_OK)
        return NULL;
    for (size_t i = 0; i < lg->n_serving; i++) /* released with the arena */
        if (arena_on_reset(a, clear_move, &serving[i]) != 0) {
            for (size_t k = i; k < lg->n_serving; k++)
                alias_move_clear(&serving[k]);
            return NULL;
        }
    lg->runs = runs;
    lg->decisions = dec;
    lg->serving = serving;
    return lg;
}

static void handle_metrics(service *svc, arena *a, http_response *resp)
{
    size_t len = 0;
    const metrics_ledger *lg = read_ledger(svc->ledger, a);
    char *text = svc->sb ? metrics_render(svc->sb, lg, a, &len) : NULL;
    if (!text) {
        http_response_error(resp, a, 503, "unavailable", "no scoreboard");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    resp->body = text;
    resp->body_len = len;
}

/* ---- the event path -------------------------------------------------------------------- */

static void answer_retry(http_response *resp, arena *a, const char *after, const char *code,
                         const char *message)
{
    http_response_error(resp, a, 503, code, "%s", message);
    http_response_add_header(resp, "Retry-After", after);
}

/* Rejections are what an attacker controls: at most REJECT_LOG_PER_S lines a second per worker,
 * the next line saying how many were left out, so a flood cannot fill the disk or drown the
 * log while every rejection is still counted in /metrics. */
#define REJECT_LOG_PER_S 20

typedef struct {
    int64_t second;
    int lines;
    long suppressed;
} log_budget;

static log_budget reject_budget;

/* FIELDS (stolen) gets "suppressed": N when lines were left out before it. */
static bool reject_log_allowed(json_t *fields)
{
    int64_t second = clk_mono_ms() / 1000;
    if (second != reject_budget.second) {
        reject_budget.second = second;
        reject_budget.lines = 0;
    }
    if (reject_budget.lines >= REJECT_LOG_PER_S) {
        reject_budget.suppressed++;
        return false;
    }
    reject_budget.lines++;
    if (reject_budget.suppressed && fields)
        json_object_set_new(fields, "suppressed", json_integer(reject_budget.suppressed));
    reject_budget.suppressed = 0;
    return true;
}

static void log_rejection(json_t *fields, const char *what, const char *detail)
{
    if (reject_log_allowed(fields))
        log_emit(LOG_WARNING, fields, "%s: %s", what, detail);
    else
        json_decref(fields);
}

static void log_auth_failure(auth_result r, const auth_claims *c)
{
    log_rejection(json_pack("{s:s, s:s?, s:s?, s:s?, s:s?}", "reason", auth_result_code(r), "kid",
                            c->kid, "iss", c->iss, "aud", c->aud, "email", c->email),
                  "rejected delivery", auth_result_code(r));
}

static int authenticate(service *svc, const http_request *req, arena *a, http_response *resp)
{
    if (svc->cfg->auth.disabled) {
        log_warning("auth.disabled is set: accepting a delivery without verifying its token");
        return 0;
    }
    auth_claims claims = {0};
    auth_result r = auth_check(svc->auth, http_header_get(req, "authorization"),
                               (int64_t)time(NULL), a, &claims);
    if (r == AUTH_OK)
        return 0;
    log_auth_failure(r, &claims);
    scoreboard_count_auth_refusal((int)r);
    if (r == AUTH_KEYS_UNAVAILABLE) {
        answer_retry(resp, a, RETRY_AFTER_UNAVAILABLE, auth_result_code(r),
                     "signing keys are unavailable; retry later");
        return -1;
    }
    http_response_error(resp, a, 401, auth_result_code(r), "the bearer token was rejected");
    http_response_add_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return -1;
}

/* The rule an answer or a stored outcome names, or NULL. */
static const char *rule_of(const json_t *outcome)
{
    return json_string_value(json_object_get(outcome, "rule"));
}

/* Answers a delivery of an event the ledger already finished: the stored outcome, unchanged
 * but for the status word. The answer is remembered unless the record may still change (a
 * replayable one may be re-opened: ledger_status_replayable). */
static void answer_duplicate(service *svc, ledger_record *rec, const cloudevent *ev,
                             const char *key, arena *a, http_response *resp)
{
    json_t *stored = rec->outcome ? json_loads(rec->outcome, 0, NULL) : NULL;
    const char *rule = rule_of(stored) ? arena_strdup(a, rule_of(stored)) : NULL;
    scoreboard_count_event(rule, SB_EVENT_DUPLICATE);
    json_t *body = lease_answer_body("duplicate", stored, ev, key);
    if (body)
        json_object_set_new(body, "recorded_status", json_string(rec->status));
    if (http_response_json(resp, a, 200, body) == 0 && !ledger_status_replayable(rec->status))
        answer_cache_put(svc->answers, key, resp->body, resp->body_len, rule, clk_mono_ms());
}

static bool answer_from_cache(service *svc, const char *key, http_response *resp)
{
    size_t len;
    const char *rule;
    const char *known = answer_cache_get(svc->answers, key, clk_mono_ms(), &len, &rule);
    if (!known)
        return false;
    scoreboard_count_event(rule, SB_EVENT_DUPLICATE);
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = known; /* valid until the next put, after this answer is written */
    resp->body_len = len;
    return true;
}

static void run_function(service *svc, lease *ls, const cloudevent *ev, arena *a,
                         http_response *resp)
{
    lease_answer ans;
    lease_run(ls, svc->fn, svc->fn_state, svc->cfg, ev, a, &ans);
    if (ans.http_status == 503) {
        scoreboard_count_event(NULL, SB_EVENT_RETRIED);
        answer_retry(resp, a, ans.retry_after, ans.code, ans.message);
        return;
    }
    scoreboard_count_event(rule_of(ans.body), sb_event_outcome_of(json_string_value(
                                                  json_object_get(ans.body, "status"))));
    http_response_json(resp, a, ans.http_status, ans.body);
}

/* The structured form the ledger stores for replay (malloc'd), made only for a new record. */
static char *event_json(void *arg)
{
    json_t *as_json = ce_to_json(arg);
    char *text = as_json ? json_dumps(as_json, JSON_COMPACT) : NULL;
    json_decref(as_json);
    return text;
}

static void handle_event(service *svc, const http_request *req, arena *a, http_response *resp)
{
    if (authenticate(svc, req, a, resp) != 0)
        return;

    cloudevent ev;
    char err[256];
    ce_status cs = ce_parse_http(req, a, &ev, err, sizeof err);
    /* Not a CloudEvent at all (no ce-specversion, not structured): a Pub/Sub push envelope? */
    if (cs == CE_ERR_MISSING && psp_is_envelope(req))
        cs = psp_parse_http(req, a, &ev, err, sizeof err);
    if (cs != CE_OK) {
        scoreboard_count_event(NULL, SB_EVENT_MALFORMED);
        log_rejection(json_pack("{s:s}", "reason", ce_status_code(cs)), "malformed event", err);
        http_response_error(resp, a, ce_status_http(cs), ce_status_code(cs), "%s", err);
        return;
    }

    char key[LEDGER_KEY_HEX + 1];
    ledger_key(ev.source, ev.id, key);
    if (answer_from_cache(svc, key, resp))
        return;
    if (open_ledger(svc) != 0) {
        scoreboard_count_event(NULL, SB_EVENT_RETRIED);
        answer_retry(resp, a, RETRY_AFTER_UNAVAILABLE, "ledger_unavailable",
                     "the ledger cannot be reached; retry later");
        return;
    }
    ledger_event le = {.source = ev.source,
                       .id = ev.id,
                       .type = ev.type,
                       .subject = ev.subject,
                       .event_time = ev.time,
                       .event_json_fn = event_json,
                       .event_json_arg = &ev};
    lease *ls = lease_in(a);
    if (!ls) {
        scoreboard_count_event(NULL, SB_EVENT_RETRIED);
        http_response_error(resp, a, 500, "internal", "out of memory");
        return;
    }
    switch (lease_take(ls, svc->ledger, svc->cfg->ledger.lease_s, key, &le)) {
    case LEASE_OURS:
        run_function(svc, ls, &ev, a, resp);
        break;
    case LEASE_DUPLICATE:
        answer_duplicate(svc, &ls->record, &ev, key, a, resp);
        break;
    case LEASE_BUSY:
        scoreboard_count_event(NULL, SB_EVENT_RETRIED);
        answer_retry(resp, a, RETRY_AFTER_BUSY, "busy",
                     "this event is being processed by another worker; retry later");
        break;
    case LEASE_UNAVAILABLE:
        scoreboard_count_event(NULL, SB_EVENT_RETRIED);
        answer_retry(resp, a, RETRY_AFTER_UNAVAILABLE, "ledger_unavailable",
                     "the ledger cannot be reached; retry later");
        break;
    }
}

bool service_restart_wanted(service *svc)
{
    if (!ledger_lost(svc->ledger))
        return false;
    if (!svc->ledger_lost_logged) {
        svc->ledger_lost_logged = true;
        log_emit(LOG_CRITICAL, NULL,
                 "this worker can no longer use the ledger (%s): it answers 503 to what it holds "
                 "and exits to be replaced; a worker opens only a ledger that exists",
                 svc->ledger ? ledger_last_error(svc->ledger) : "sqlite faulted");
    }
    return true;
}

void service_handle(service *svc, const http_request *req, arena *a, http_response *resp)
{
    const char *path = req->path;
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (strcmp(path, "/") == 0) {
        if (strcmp(req->method, "POST") == 0) {
            handle_event(svc, req, a, resp);
        } else {
            http_response_error(resp, a, 405, "method_not_allowed",
                                "deliver events with POST; %s is not allowed here", req->method);
            http_response_add_header(resp, "Allow", "POST");
        }
        return;
    }
    if (ui_path(path)) {
        open_ledger(svc); /* NULL while it cannot be reached: the pages answer 503 */
        ui_handle(svc->ledger, req, a, resp);
        return;
    }
    static const char *const gets[] = {"/healthz", "/readyz", "/status", "/metrics"};
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        if (strcmp(path, gets[i]) != 0)
            continue;
        if (!get) {
            http_response_error(resp, a, 405, "method_not_allowed", "%s answers GET only", path);
            http_response_add_header(resp, "Allow", "GET, HEAD");
        } else if (i == 0) {
            http_response_json(resp, a, 200, json_pack("{s:s}", "status", "ok"));
        } else if (i == 1) {
            handle_readyz(svc, a, resp);
        } else if (i == 2) {
            json_t *st = svc->sb ? scoreboard_status_json(svc->sb) : NULL;
            if (st)
                http_response_json(resp, a, 200, st);
            else
                http_response_error(resp, a, 503, "unavailable", "no scoreboard");
        } else {
            handle_metrics(svc, a, resp);
        }
        return;
    }
    char shown[200]; /* the client's bytes, by the printable policy */
    http_response_error(resp, a, 404, "not_found", "no route for %s",
                        prt_str(shown, sizeof shown, path));
}

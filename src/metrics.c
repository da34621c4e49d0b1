/* metrics — see metrics.h. Written with stdio into a memstream, then copied to the arena. */
#include "metrics.h"

#include "auth.h"
#include "clk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
            (unsigned long long)v);
}

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static void label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}
/* The value a queued_gauge shows for the queued runs of one rule. */
static double queued_events(const run_count *c, int64_t now_ms)
{
    (void)now_ms;
    return (double)c->queued_events;
}

static double batches(const run_count *c, int64_t now_ms)
{
    (void)now_ms;
    return (double)c->batches;
}

static double batch_events(const run_count *c, int64_t now_ms)
{
    (void)now_ms;
    return (double)c->batch_events;
}

static double oldest_queued_age_s(const run_count *c, int64_t now_ms)
{
    int64_t age = c->oldest_ms > 0 ? now_ms - c->oldest_ms : 0;
    return (age > 0 ? age : 0) / 1000.0;
}

static double oldest_batch_age_s(const run_count *c, int64_t now_ms)
{
    int64_t age = c->oldest_batch_ms > 0 ? now_ms - c->oldest_batch_ms : 0;
    return (age > 0 ? age : 0) / 1000.0;
}

/* Gauge NAME by rule, VALUE of each rule's queued runs (BATCHES_ONLY: of rules with batches), in
 * SECONDS to the millisecond or a count. */
static void queued_gauge(FILE *f, const char *name, const char *help, const run_count *runs,
                         size_t n, bool batches_only,
                         double (*value)(const run_count *c, int64_t now_ms), bool seconds,
                         int64_t now_ms)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        if (runs[i].state != RUN_QUEUED || (batches_only && runs[i].batches == 0))
            continue;
        fprintf(f, "%s{rule=\"", name);
        label(f, runs[i].rule);
        fprintf(f, seconds ? "\"} %.3f\n" : "\"} %.0f\n", value(&runs[i], now_ms));
    }
}

static void render_runs(FILE *f, const run_count *runs, size_t n)
{
    fprintf(f,
            "# HELP retrain_ledger_up Whether the ledger answered this scrape.\n"
            "# TYPE retrain_ledger_up gauge\nretrain_ledger_up %d\n",
            runs ? 1 : 0);
    if (!runs)
        return;
    fputs("# HELP retrain_runs Runs in the ledger, by rule and state.\n"
          "# TYPE retrain_runs gauge\n",
          f);
    int64_t open = 0;
    for (size_t i = 0; i < n; i++) {
        fputs("retrain_runs{rule=\"", f);
        label(f, runs[i].rule);
        fprintf(f, "\",state=\"%s\"} %lld\n", run_state_name(runs[i].state),
                (long long)runs[i].count);
        if (!run_state_is_final(runs[i].state))
            open += runs[i].count;
    }
    fprintf(f,
            "# HELP retrain_runs_open Runs not ended yet (queued, submitted or running).\n"
            "# TYPE retrain_runs_open gauge\nretrain_runs_open %lld\n",
            (long long)open);
    int64_t now_ms = clk_wall_ms();
    queued_gauge(f, "retrain_queued_events",
                 "Events whose run waits queued (for Google, the create budget, or the run before "
                 "it), by rule.",
                 runs, n, false, queued_events, false, now_ms);
    queued_gauge(f, "retrain_queued_oldest_age_seconds",
                 "Age of the oldest run that waits queued and is no batch (since its first event), "
                 "by rule.",
                 runs, n, false, oldest_queued_age_s, true, now_ms);
    queued_gauge(
        f, "retrain_batches_open",
        "Batches not submitted yet (open, or closed and waiting for the follower), by rule.", runs,
        n, true, batches, false, now_ms);
    queued_gauge(f, "retrain_batch_events", "Events in the batches not submitted yet, by rule.",
                 runs, n, true, batch_events, false, now_ms);
    queued_gauge(f, "retrain_batch_oldest_age_seconds",
                 "Age of the oldest batch not submitted yet (since its first event), by rule.",
                 runs, n, true, oldest_batch_age_s, true, now_ms);
    fputs("# HELP retrain_run_duration_seconds Time from a run's first event to its end, by rule "
          "and how it ended.\n"
          "# TYPE retrain_run_duration_seconds histogram\n",
          f);
    for (size_t i = 0; i < n; i++) {
        if (!run_state_is_final(runs[i].state))
            continue;
        for (int b = 0; b <= RUN_DURATION_BUCKETS; b++) {
            fputs("retrain_run_duration_seconds_bucket{rule=\"", f);
            label(f, runs[i].rule);
            if (b < RUN_DURATION_BUCKETS)
                fprintf(f, "\",state=\"%s\",le=\"%d\"} %lld\n", run_state_name(runs[i].state),
                        run_duration_le[b], (long long)runs[i].within[b]);
            else
                fprintf(f, "\",state=\"%s\",le=\"+Inf\"} %lld\n", run_state_name(runs[i].state),
                        (long long)runs[i].count);
        }
        fputs("retrain_run_duration_seconds_sum{rule=\"", f);
        label(f, runs[i].rule);
        fprintf(f, "\",state=\"%s\"} %.3f\n", run_state_name(runs[i].state),
                runs[i].duration_ms_sum / 1000.0);
        fputs("retrain_run_duration_seconds_count{rule=\"", f);
        label(f, runs[i].rule);
        fprintf(f, "\",state=\"%s\"} %lld\n", run_state_name(runs[i].state),
                (long long)runs[i].count);
    }
}

/* One histogram series of NAME{LABEL="VALUE"} from per-bucket COUNTS (sb_bucket_bounds_s, the
 * last +Inf) and their SUM_US. */
static void histogram(FILE *f, const char *name, const char *lname, const char *lvalue,
                      const _Atomic uint64_t counts[SB_BUCKETS + 1], const _Atomic uint64_t *sum_us)
{
    uint64_t cum = 0;
    for (int b = 0; b <= SB_BUCKETS; b++) {
        cum += atomic_load_explicit(&counts[b], memory_order_relaxed);
        if (b < SB_BUCKETS)
            fprintf(f, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, lname, lvalue,
                    sb_bucket_bounds_s[b], (unsigned long long)cum);
        else
            fprintf(f, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, lname, lvalue,
                    (unsigned long long)cum);
    }
    fprintf(f, "%s_sum{%s=\"%s\"} %.6f\n", name, lname, lvalue, (double)atomic_load(sum_us) / 1e6);
    fprintf(f, "%s_count{%s=\"%s\"} %llu\n", name, lname, lvalue, (unsigned long long)cum);
}

#define STORAGE_CALL "storage." /* how gcs.c names its calls: "GET storage.objects.get" */

/* Outbound calls by the name they were counted under ("GET customJobs") and HTTP status: the
 * Cloud Storage ones (STORAGE) or the others, Vertex AI's. */
static void render_calls(FILE *f, scoreboard *sb, bool storage)
{
    const char *metric = storage ? "retrain_storage_calls_total" : "retrain_vertex_calls_total";
    fprintf(f,
            "# HELP %s %s calls (every attempt, retries included), by HTTP method, what was "
            "called and HTTP status (none: no answer).\n# TYPE %s counter\n",
            metric, storage ? "Cloud Storage JSON API" : "Vertex AI", metric);
    for (int i = 0; i < SB_CALLS; i++) {
        sb_call *c = &sb->calls[i];
        if (atomic_load(&c->used) != 2)
            continue;
        char name[SB_CALL_NAME];
        snprintf(name, sizeof name, "%s", c->name);
        char *what = strchr(name, ' ');
        if (what)
            *what++ = '\0';
        if ((what && strncmp(what, STORAGE_CALL, strlen(STORAGE_CALL)) == 0) != storage)
            continue;
        for (int k = 0; k < SB_CALL_CODES; k++) {
            uint64_t v = atomic_load_explicit(&c->by_code[k], memory_order_relaxed);
            if (!v)
                continue;
            fprintf(f, "%s{method=\"", metric);
            label(f, what ? name : "");
            fputs("\",call=\"", f);
            label(f, what ? what : name);
            if (k == SB_CALL_CODES - 1)
                fprintf(f, "\",code=\"other\"} %llu\n", (unsigned long long)v);
            else if (sb_call_codes[k] == 0)
                fprintf(f, "\",code=\"none\"} %llu\n", (unsigned long long)v);
            else
                fprintf(f, "\",code=\"%d\"} %llu\n", sb_call_codes[k], (unsigned long long)v);
        }
    }
}

static void render_promotions(FILE *f, const metrics_ledger *lg)
{
    fputs("# HELP retrain_promotion_decisions Promotion decisions recorded on the runs in the "
          "ledger, by rule and outcome (pending and promoting: not finished yet).\n"
          "# TYPE retrain_promotion_decisions gauge\n",
          f);
    for (size_t i = 0; i < lg->n_decisions; i++) {
        fputs("retrain_promotion_decisions{rule=\"", f);
        label(f, lg->decisions[i].rule);
        fputs("\",outcome=\"", f);
        label(f, lg->decisions[i].decision);
        fprintf(f, "\"} %lld\n", (long long)lg->decisions[i].count);
    }
    fputs("# HELP retrain_serving_metric The metric of the version a gated alias is on, by model, "
          "alias and metric (as the last recorded move says).\n"
          "# TYPE retrain_serving_metric gauge\n",
          f);
    for (size_t i = 0; i < lg->n_serving; i++) {
        const alias_move *m = &lg->serving[i];
        if (!m->has_value || !m->metric)
            continue;
        fputs("retrain_serving_metric{model=\"", f);
        label(f, m->model);
        fputs("\",alias=\"", f);
        label(f, m->alias);
        fputs("\",metric=\"", f);
        label(f, m->metric);
        fputs("\",version=\"", f);
        label(f, m->to_version);
        fprintf(f, "\"} %.15g\n", m->value);
    }
}

_Static_assert(AUTH_KEYS_UNAVAILABLE < SB_AUTH_REASONS, "a counter for every auth refusal");

/* Deliveries by rule and outcome, and refusals by reason. */
static void render_events(FILE *f, scoreboard *sb)
{
    fputs("# HELP retrain_events_total Deliveries of events, by rule (empty: none matched, or not "
          "known) and what became of them.\n# TYPE retrain_events_total counter\n",
          f);
    for (int i = 0; i < SB_RULES; i++) {
        sb_rule_events *e = &sb->events[i];
        if (atomic_load(&e->used) != 2)
            continue;
        for (int o = 0; o < SB_EVENT_OUTCOMES; o++) {
            uint64_t v = atomic_load_explicit(&e->by_outcome[o], memory_order_relaxed);
            if (!v)
                continue;
            fputs("retrain_events_total{rule=\"", f);
            label(f, e->name);
            fprintf(f, "\",outcome=\"%s\"} %llu\n", sb_event_outcome_names[o],
                    (unsigned long long)v);
        }
    }
    fputs("# HELP retrain_auth_refusals_total Deliveries refused at authentication, by reason.\n"
          "# TYPE retrain_auth_refusals_total counter\n",
          f);
    for (int r = AUTH_OK + 1; r <= AUTH_KEYS_UNAVAILABLE; r++)
        fprintf(
            f, "retrain_auth_refusals_total{reason=\"%s\"} %llu\n",
            auth_result_code((auth_result)r),
            (unsigned long long)atomic_load_explicit(&sb->auth_refusals[r], memory_order_relaxed));
}

/* Counter NAME with HELP by result, from COUNTS: [0] ok, [1] failed. */
static void by_result(FILE *f, const char *name, const char *help, const _Atomic uint64_t counts[2])
{
    fprintf(f, "# HELP %s %s, by result.\n# TYPE %s counter\n", name, help, name);
    fprintf(f, "%s{result=\"ok\"} %llu\n%s{result=\"failed\"} %llu\n", name,
            (unsigned long long)atomic_load(&counts[0]), name,
            (unsigned long long)atomic_load(&counts[1]));
}

/* Access tokens of the service account and Google's signing keys. */
static void render_google_auth(FILE *f, scoreboard *sb)
{
    by_result(f, "retrain_token_refreshes_total", "Access-token fetches for the service account",
              sb->token_refreshes);
    by_result(f, "retrain_jwks_refreshes_total", "Fetches of Google's token-signing keys",
              sb->jwks_refreshes);
    int64_t fetched_s = atomic_load(&sb->jwks_fetched_s);
    if (fetched_s <= 0)
        return;
    int64_t age_s = clk_wall_ms() / 1000 - fetched_s;
    fprintf(f,
            "# HELP retrain_jwks_keys Keys in the signing-key set in use.\n"
            "# TYPE retrain_jwks_keys gauge\nretrain_jwks_keys %d\n"
            "# HELP retrain_jwks_age_seconds Time since the signing-key set in use was fetched.\n"
            "# TYPE retrain_jwks_age_seconds gauge\nretrain_jwks_age_seconds %lld\n",
            atomic_load(&sb->jwks_keys), (long long)(age_s > 0 ? age_s : 0));
}

/* The request path's ledger calls: latency and failures. */
static void render_ledger_calls(FILE *f, scoreboard *sb)
{
    fputs("# HELP retrain_ledger_call_duration_seconds Time of the request path's ledger calls.\n"
          "# TYPE retrain_ledger_call_duration_seconds histogram\n",
          f);
    for (int c = 0; c < SB_LEDGER_CALLS; c++)
        histogram(f, "retrain_ledger_call_duration_seconds", "call", sb_ledger_call_names[c],
                  sb->ledger_latency[c], &sb->ledger_latency_sum_us[c]);
    fputs("# HELP retrain_ledger_errors_total The request path's ledger calls that failed.\n"
          "# TYPE retrain_ledger_errors_total counter\n",
          f);
    for (int c = 0; c < SB_LEDGER_CALLS; c++)
        fprintf(f, "retrain_ledger_errors_total{call=\"%s\"} %llu\n", sb_ledger_call_names[c],
                (unsigned long long)atomic_load(&sb->ledger_errors[c]));
}

char *metrics_render(scoreboard *sb, const metrics_ledger *lg, arena *a, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;

    fputs("# HELP retrain_requests_total Requests answered, by route and HTTP status.\n"
          "# TYPE retrain_requests_total counter\n",
          f);
    for (int r = 0; r < SB_ROUTES; r++)
        for (int s = 0; s < SB_STATUSES; s++) {
            uint64_t v = atomic_load_explicit(&sb->requests[r][s], memory_order_relaxed);
            if (!v)
                continue;
            if (s < SB_STATUSES - 1)
                fprintf(f, "retrain_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                        sb_route_names[r], sb_status_codes[s], (unsigned long long)v);
            else
                fprintf(f, "retrain_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                        sb_route_names[r], (unsigned long long)v);
        }

    fputs("# HELP retrain_request_duration_seconds Time from request read to answer written.\n"
          "# TYPE retrain_request_duration_seconds histogram\n",
          f);
    for (int r = 0; r < SB_ROUTES; r++)
        histogram(f, "retrain_request_duration_seconds", "route", sb_route_names[r], sb->latency[r],
                  &sb->latency_sum_us[r]);

    int by_state[SB_STOPPING + 1] = {0};
    for (int i = 0; i < sb->n_slots; i++) {
        int st = atomic_load(&sb->slots[i].state);
        if (st >= 0 && st <= SB_STOPPING)
            by_state[st]++;
    }
    fputs("# HELP retrain_workers Worker slots by state.\n# TYPE retrain_workers gauge\n", f);
    for (int st = SB_STARTING; st <= SB_STOPPING; st++)
        fprintf(f, "retrain_workers{state=\"%s\"} %d\n", sb_state_name((sb_state)st), by_state[st]);

    counter(f, "retrain_worker_restarts_total", "Workers started to replace one that exited.",
            atomic_load(&sb->restarts));
    counter(f, "retrain_worker_recycled_total", "Workers that exited after max_requests.",
            atomic_load(&sb->recycled));
    counter(f, "retrain_worker_timeouts_total",
            "Workers killed for a request stuck past request_timeout_s.",
            atomic_load(&sb->timeouts));
    counter(f, "retrain_worker_crashes_total", "Workers that died on a signal or a failure exit.",
            atomic_load(&sb->crashes));
    counter(f, "retrain_config_reloads_total", "SIGHUP reloads that took effect.",
            atomic_load(&sb->reloads));
    counter(f, "retrain_config_reload_failures_total",
            "SIGHUP reloads refused (the configuration fails check-config) or rolled back (the "
            "first worker of the new generation could not start); the running one stays.",
            atomic_load(&sb->reload_failures));
    render_runs(f, lg ? lg->runs : NULL, lg ? lg->n_runs : 0);
    if (lg) {
        fprintf(f,
                "# HELP retrain_dead_letters Events whose ledger record is failed (retrainctl "
                "events list --status failed).\n# TYPE retrain_dead_letters gauge\n"
                "retrain_dead_letters %lld\n",
                (long long)lg->dead_letters);
        render_promotions(f, lg);
    }
    render_calls(f, sb, false);
    render_calls(f, sb, true);
    render_events(f, sb);
    render_google_auth(f, sb);
    render_ledger_calls(f, sb);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    char *out = arena_strndup(a, buf, n);
    free(buf);
    if (out)
        *len = n;
    return out;
}

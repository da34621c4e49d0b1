/* scoreboard — see scoreboard.h. */
#include "scoreboard.h"

#include "clk.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

const double sb_bucket_bounds_s[SB_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const int sb_status_codes[SB_STATUSES - 1] = {200, 202, 204, 400, 401, 404, 405,
                                              413, 415, 429, 500, 503, 504};
const int sb_call_codes[SB_CALL_CODES - 1] = {0,   200, 400, 401, 403, 404,
                                              409, 429, 500, 502, 503, 504};
const char *const sb_route_names[SB_ROUTES] = {"event",   "healthz", "readyz", "status",
                                               "metrics", "ui",      "other"};
const char *const sb_event_outcome_names[SB_EVENT_OUTCOMES] = {
    [SB_EVENT_SUBMITTED] = "submitted", [SB_EVENT_DUPLICATE] = "duplicate",
    [SB_EVENT_COALESCED] = "coalesced", [SB_EVENT_BATCHED] = "batched",
    [SB_EVENT_QUEUED] = "queued",       [SB_EVENT_IGNORED] = "ignored",
    [SB_EVENT_FAILED] = "failed",       [SB_EVENT_RETRIED] = "retried",
    [SB_EVENT_MALFORMED] = "malformed", [SB_EVENT_DONE] = "done"};
const char *const sb_ledger_call_names[SB_LEDGER_CALLS] = {
    [SB_LEDGER_CLAIM] = "claim", [SB_LEDGER_FINISH] = "finish", [SB_LEDGER_RELEASE] = "release"};

scoreboard *scoreboard_create(int n_slots)
{
    if (n_slots < 1 || n_slots > SB_MAX_WORKERS)
        return NULL;
    void *p =
        mmap(NULL, sizeof(scoreboard), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    scoreboard *sb = p; /* fresh anonymous pages are zero: every counter starts at 0 */
    sb->n_slots = n_slots;
    atomic_store(&sb->started_ms, clk_mono_ms());
    return sb;
}

void scoreboard_destroy(scoreboard *sb)
{
    if (sb)
        munmap(sb, sizeof *sb);
}

static scoreboard *board; /* where scoreboard_count_* count (scoreboard_count_in) */

void scoreboard_count_in(scoreboard *sb)
{
    board = sb;
}

/* Whether the table entry (USED, NAME of CAP bytes) is named WANT: claimed for it when free.
 * False when another name has it. */
static bool named(_Atomic int *used, char *name, size_t cap, const char *want)
{
    int u = atomic_load(used);
    if (u == 0) {
        int expected = 0;
        if (atomic_compare_exchange_strong(used, &expected, 1)) {
            snprintf(name, cap, "%s", want);
            atomic_store(used, 2);
            return true;
        }
        u = expected;
    }
    while (u == 1) /* another process is naming it: a few instructions away */
        u = atomic_load(used);
    return strncmp(name, want, cap - 1) == 0;
}

void scoreboard_count_call(const char *name, long status)
{
    scoreboard *sb = board;
    if (!sb || !name)
        return;
    sb_call *c = &sb->calls[SB_CALLS - 1];
    for (int i = 0; i < SB_CALLS - 1; i++)
        if (named(&sb->calls[i].used, sb->calls[i].name, sizeof sb->calls[i].name, name)) {
            c = &sb->calls[i];
            break;
        }
    if (c == &sb->calls[SB_CALLS - 1])
        named(&c->used, c->name, sizeof c->name, "other");
    int k = SB_CALL_CODES - 1;
    for (int i = 0; i < SB_CALL_CODES - 1; i++)
        if (sb_call_codes[i] == status)
            k = i;
    atomic_fetch_add_explicit(&c->by_code[k], 1, memory_order_relaxed);
}

void scoreboard_count_event(const char *rule, sb_event_outcome outcome)
{
    scoreboard *sb = board;
    if (!sb || outcome < 0 || outcome >= SB_EVENT_OUTCOMES)
        return;
    rule = rule ? rule : "";
    sb_rule_events *e = &sb->events[SB_RULES - 1];
    for (int i = 0; i < SB_RULES - 1; i++)
        if (named(&sb->events[i].used, sb->events[i].name, sizeof sb->events[i].name, rule)) {
            e = &sb->events[i];
            break;
        }
    if (e == &sb->events[SB_RULES - 1])
        named(&e->used, e->name, sizeof e->name, "other");
    atomic_fetch_add_explicit(&e->by_outcome[outcome], 1, memory_order_relaxed);
}

sb_event_outcome sb_event_outcome_of(const char *word)
{
    for (int i = 0; word && i < SB_EVENT_OUTCOMES; i++)
        if (strcmp(word, sb_event_outcome_names[i]) == 0)
            return (sb_event_outcome)i;
    return SB_EVENT_DONE;
}

void scoreboard_count_auth_refusal(int reason)
{
    if (board && reason > 0 && reason < SB_AUTH_REASONS)
        atomic_fetch_add_explicit(&board->auth_refusals[reason], 1, memory_order_relaxed);
}

void scoreboard_count_token_refresh(bool ok)
{
    if (board)
        atomic_fetch_add_explicit(&board->token_refreshes[ok ? 0 : 1], 1, memory_order_relaxed);
}

void scoreboard_count_jwks_refresh(bool ok)
{
    if (board)
        atomic_fetch_add_explicit(&board->jwks_refreshes[ok ? 0 : 1], 1, memory_order_relaxed);
}

void scoreboard_jwks_in_use(int64_t fetched_s, int keys)
{
    if (!board)
        return;
    atomic_store(&board->jwks_fetched_s, fetched_s);
    atomic_store(&board->jwks_keys, keys);
}

static int bucket_of(int64_t us)
{
    int b = 0;
    while (b < SB_BUCKETS && (double)us > sb_bucket_bounds_s[b] * 1e6)
        b++;
    return b;
}

void scoreboard_time_ledger(sb_ledger_call call, int64_t us, bool failed)
{
    scoreboard *sb = board;
    if (!sb || call < 0 || call >= SB_LEDGER_CALLS)
        return;
    us = us > 0 ? us : 0;
    atomic_fetch_add_explicit(&sb->ledger_latency[call][bucket_of(us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sb->ledger_latency_sum_us[call], (uint64_t)us, memory_order_relaxed);
    if (failed)
        atomic_fetch_add_explicit(&sb->ledger_errors[call], 1, memory_order_relaxed);
}

sb_route sb_route_of(const char *path)
{
    if (strcmp(path, "/") == 0)
        return SB_ROUTE_EVENT;
    if (strcmp(path, "/healthz") == 0)
        return SB_ROUTE_HEALTHZ;
    if (strcmp(path, "/readyz") == 0)
        return SB_ROUTE_READYZ;
    if (strcmp(path, "/status") == 0)
        return SB_ROUTE_STATUS;
    if (strcmp(path, "/metrics") == 0)
        return SB_ROUTE_METRICS;
    if (strncmp(path, "/ui/", 4) == 0)
        return SB_ROUTE_UI;
    return SB_ROUTE_OTHER;
}

static int status_index(int status)
{
    for (int i = 0; i < SB_STATUSES - 1; i++)
        if (sb_status_codes[i] == status)
            return i;
    return SB_STATUSES - 1;
}

void scoreboard_record(scoreboard *sb, sb_route route, int status, int64_t latency_us)
{
    if (!sb || route < 0 || route >= SB_ROUTES)
        return;
    atomic_fetch_add_explicit(&sb->requests[route][status_index(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sb->latency[route][bucket_of(latency_us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sb->latency_sum_us[route], (uint64_t)latency_us,
                              memory_order_relaxed);
}

const char *sb_state_name(sb_state s)
{
    switch (s) {
    case SB_EMPTY:
        return "empty";
    case SB_STARTING:
        return "starting";
    case SB_IDLE:
        return "idle";
    case SB_BUSY:
        return "busy";
    case SB_STOPPING:
        return "stopping";
    }
    return "unknown";
}

json_t *scoreboard_status_json(scoreboard *sb)
{
    int64_t now = clk_mono_ms();
    json_t *workers = json_array();
    json_t *root = json_pack(
        "{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "master_pid",
        atomic_load(&sb->master_pid), "uptime_s",
        (json_int_t)((now - atomic_load(&sb->started_ms)) / 1000), "generation",
        (json_int_t)atomic_load(&sb->generation), "restarts",
        (json_int_t)atomic_load(&sb->restarts), "recycled", (json_int_t)atomic_load(&sb->recycled),
        "timeouts", (json_int_t)atomic_load(&sb->timeouts), "crashes",
        (json_int_t)atomic_load(&sb->crashes), "reloads", (json_int_t)atomic_load(&sb->reloads),
        "reload_failures", (json_int_t)atomic_load(&sb->reload_failures), "slots", sb->n_slots);
    if (!root || !workers) {
        json_decref(root);
        json_decref(workers);
        return NULL;
    }
    for (int i = 0; i < sb->n_slots; i++) {
        sb_slot *s = &sb->slots[i];
        if (atomic_load(&s->state) == SB_EMPTY) /* no process in it: not a worker to list */
            continue;
        int64_t busy = atomic_load(&s->busy_since_ms);
        int64_t started = atomic_load(&s->started_ms);
        json_array_append_new(
            workers, json_pack("{s:i, s:i, s:s, s:I, s:I, s:I, s:I, s:i}", "slot", i, "pid",
                               atomic_load(&s->pid), "state", sb_state_name(atomic_load(&s->state)),
                               "requests", (json_int_t)atomic_load(&s->requests), "busy_ms",
                               (json_int_t)(busy ? now - busy : 0), "age_s",
                               (json_int_t)(started ? (now - started) / 1000 : 0), "generation",
                               (json_int_t)atomic_load(&s->generation), "connections",
                               atomic_load(&s->connections)));
    }
    json_object_set_new(root, "workers", workers);
    return root;
}

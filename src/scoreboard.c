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
const char *const sb_route_names[SB_ROUTES] = {"event",  "healthz", "readyz",
                                               "status", "metrics", "other"};

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

static scoreboard *calls_board;

void scoreboard_count_calls_in(scoreboard *sb)
{
    calls_board = sb;
}

/* The entry named NAME, claimed when there is none yet; NULL when the table is full (its last
 * entry is kept for "other"). */
static sb_call *call_entry(scoreboard *sb, const char *name, int n)
{
    for (int i = 0; i < n; i++) {
        sb_call *c = &sb->calls[i];
        int used = atomic_load(&c->used);
        if (used == 0) {
            int expected = 0;
            if (atomic_compare_exchange_strong(&c->used, &expected, 1)) {
                snprintf(c->name, sizeof c->name, "%s", name);
                atomic_store(&c->used, 2);
                return c;
            }
            used = expected;
        }
        while (used == 1) /* another process is naming it: a few instructions away */
            used = atomic_load(&c->used);
        if (strncmp(c->name, name, sizeof c->name - 1) == 0)
            return c;
    }
    return NULL;
}

void scoreboard_count_call(const char *name, long status)
{
    scoreboard *sb = calls_board;
    if (!sb || !name)
        return;
    sb_call *c = call_entry(sb, name, SB_CALLS - 1);
    if (!c) {
        c = &sb->calls[SB_CALLS - 1];
        int expected = 0;
        if (atomic_compare_exchange_strong(&c->used, &expected, 1)) {
            snprintf(c->name, sizeof c->name, "other");
            atomic_store(&c->used, 2);
        }
    }
    int k = SB_CALL_CODES - 1;
    for (int i = 0; i < SB_CALL_CODES - 1; i++)
        if (sb_call_codes[i] == status)
            k = i;
    atomic_fetch_add_explicit(&c->by_code[k], 1, memory_order_relaxed);
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
    int b = 0;
    while (b < SB_BUCKETS && (double)latency_us > sb_bucket_bounds_s[b] * 1e6)
        b++;
    atomic_fetch_add_explicit(&sb->latency[route][b], 1, memory_order_relaxed);
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

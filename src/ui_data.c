/* ui_data — see ui_data.h.
 *
 * Runs come from runs_list oldest first, page by page. The counts per rule and state come from
 * runs_count first, so a run is copied into the arena only when it can still be among its rule's
 * latest (or made a version): a ledger of many runs costs reads, not memory. */
#include "ui_data.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alias_moves.h"
#include "ledger_backend.h"

#define RUNS_PAGE 500
#define RUN_COUNTS_MAX 1024 /* (rule, state) pairs */
#define MOVES_MAX 1000      /* the aliases held now, over every model */
#define DEAD_PAGE 500

typedef struct {
    arena *a;
    bool oom;
} ctx;

static const char *copy(ctx *c, const char *s)
{
    if (!s)
        return NULL;
    const char *d = arena_strdup(c->a, s);
    if (!d)
        c->oom = true;
    return d;
}

/* Grows the array *ARR of *CAP elements of SIZE to hold one more than N; false on OOM. */
static bool grow(ctx *c, void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *bigger = arena_zalloc(c->a, ncap * size);
    if (!bigger) {
        c->oom = true;
        return false;
    }
    if (n)
        memcpy(bigger, *arr, n * size);
    *arr = bigger;
    *cap = ncap;
    return true;
}

/* The gate's decision details: the metric, the version's value and the reason. */
static void read_decision(ctx *c, const char *details, ui_run *u)
{
    json_t *d = details ? json_loads(details, 0, NULL) : NULL;
    const json_t *value = json_object_get(json_object_get(d, "candidate"), "value");
    u->metric = copy(c, json_string_value(json_object_get(d, "metric")));
    u->reason = copy(c, json_string_value(json_object_get(d, "reason")));
    u->has_value = json_is_number(value);
    u->value = json_number_value(value);
    json_decref(d);
}

static void run_from(ctx *c, const run_record *r, ui_run *u)
{
    memset(u, 0, sizeof *u);
    memcpy(u->id, r->id, sizeof u->id);
    u->rule = copy(c, r->rule ? r->rule : "");
    u->state = r->state;
    u->events = r->events;
    u->queued_ms = r->queued_ms;
    u->ended_ms = r->ended_ms;
    u->error_code = r->error_code;
    u->error_message = copy(c, r->error_message);
    const char *at = r->model_version ? strrchr(r->model_version, '@') : NULL;
    if (at) {
        u->model = arena_strndup(c->a, r->model_version, (size_t)(at - r->model_version));
        c->oom |= !u->model;
    }
    u->version_id = copy(c, r->model_version_id ? r->model_version_id : (at ? at + 1 : NULL));
    u->decision = copy(c, r->decision);
    read_decision(c, r->decision_json, u);
    u->batch_key = copy(c, r->batch_key);
    u->collecting = r->collecting;
}

static ui_rule *rule_named(ctx *c, ui_overview *o, size_t *cap, const char *name)
{
    for (size_t i = 0; i < o->n_rules; i++)
        if (strcmp(o->rules[i].name, name) == 0)
            return &o->rules[i];
    if (!grow(c, (void **)&o->rules, cap, o->n_rules, sizeof *o->rules))
        return NULL;
    ui_rule *r = &o->rules[o->n_rules++];
    r->name = copy(c, name);
    return r;
}

static ui_model *model_named(ctx *c, ui_overview *o, size_t *cap, const char *name)
{
    for (size_t i = 0; i < o->n_models; i++)
        if (strcmp(o->models[i].name, name) == 0)
            return &o->models[i];
    if (!grow(c, (void **)&o->models, cap, o->n_models, sizeof *o->models))
        return NULL;
    ui_model *m = &o->models[o->n_models++];
    m->name = copy(c, name);
    return m;
}

/* The rules and what waits in each, from the ledger's counts. */
static ledger_status read_counts(ledger *l, ctx *c, ui_overview *o, size_t *cap)
{
    run_count *counts = arena_alloc(c->a, RUN_COUNTS_MAX * sizeof *counts);
    size_t n = 0;
    if (!counts)
        return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    ledger_status st = runs_count(l, counts, RUN_COUNTS_MAX, &n);
    for (size_t i = 0; st == LEDGER_OK && i < n; i++) {
        ui_rule *r = rule_named(c, o, cap, counts[i].rule);
        if (!r)
            break;
        r->runs += counts[i].count;
        if (counts[i].state <= RUN_CANCELLED)
            r->by_state[counts[i].state] += counts[i].count;
        r->queued_events += counts[i].queued_events;
        r->open_batches += counts[i].batches;
        r->batch_events += counts[i].batch_events;
    }
    return st;
}

/* Keeps U among its rule's latest (newest first). */
static void keep_latest(ui_rule *r, ui_run *u)
{
    size_t n = r->n_latest < UI_RUNS_PER_RULE ? r->n_latest + 1 : UI_RUNS_PER_RULE;
    memmove(&r->latest[1], &r->latest[0], (n - 1) * sizeof r->latest[0]);
    r->latest[0] = u;
    r->n_latest = n;
}

static void keep_version(ui_model *m, const ui_run *u)
{
    if (m->n_versions == UI_VERSIONS_MAX) {
        memmove(&m->versions[0], &m->versions[1], (UI_VERSIONS_MAX - 1) * sizeof m->versions[0]);
        m->n_versions--;
    }
    m->versions[m->n_versions++] = (ui_version){.run = u, .aliases = ""};
}

/* Every run, oldest first: the latest of each rule and each model's versions. SEEN counts the
 * runs read per rule, beside the rule's total from read_counts. */
static ledger_status read_runs(ledger *l, ctx *c, ui_overview *o, size_t *rules_cap)
{
    run_record *page = calloc(RUNS_PAGE, sizeof *page);
    int64_t *seen = arena_zalloc(c->a, (o->n_rules + 1) * sizeof *seen);
    size_t models_cap = 0, read = 0;
    char after[RUN_ID_LEN + 1] = "";
    ledger_status st = LEDGER_OK;
    if (!page || !seen) {
        free(page);
        return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    }
    size_t counted = o->n_rules; /* rules born after the counts have no total: keep them all */
    for (;;) {
        run_query q = {.state = -1, .limit = RUNS_PAGE, .after_id = after[0] ? after : NULL};
        size_t got = 0;
        if ((st = runs_list(l, &q, page, RUNS_PAGE, &got)) != LEDGER_OK)
            break;
        for (size_t i = 0; i < got && !c->oom; i++) {
            const run_record *r = &page[i];
            ui_rule *rule = rule_named(c, o, rules_cap, r->rule ? r->rule : "");
            if (!rule)
                break;
            size_t ri = (size_t)(rule - o->rules);
            bool recent = ri >= counted || seen[ri]++ >= rule->runs - UI_RUNS_PER_RULE;
            if (!recent && !r->model_version)
                continue;
            ui_run *u = arena_alloc(c->a, sizeof *u);
            if (!u) {
                c->oom = true;
                break;
            }
            run_from(c, r, u);
            if (recent)
                keep_latest(rule, u);
            ui_model *m =
                u->model && u->version_id ? model_named(c, o, &models_cap, u->model) : NULL;
            if (m)
                keep_version(m, u);
        }
        for (size_t i = 0; i < got; i++)
            run_record_clear(&page[i]);
        read += got;
        if (c->oom || got < RUNS_PAGE)
            break;
        if (read >= UI_RUNS_READ) {
            o->runs_cut = true;
            break;
        }
        memcpy(after, page[got - 1].id, sizeof after); /* cleared records keep their id */
    }
    free(page);
    return st;
}

static long version_number(const ui_version *v)
{
    return strtol(v->run->version_id, NULL, 10);
}

static int by_version(const void *x, const void *y)
{
    long a = version_number(x), b = version_number(y);
    return (a > b) - (a < b);
}

static void clear_move(void *m)
{
    alias_move_clear(m);
}

/* Appends ALIAS to the ", "-separated *LIST (kept as it was when memory runs out). */
static void add_alias(ctx *c, const char **list, const char *alias)
{
    const char *longer = (*list)[0] ? arena_printf(c->a, "%s, %s", *list, alias) : copy(c, alias);
    if (longer)
        *list = longer;
    else
        c->oom = true;
}

/* What each alias is on now: the newest move of each (model, alias). */
static ledger_status read_aliases(ledger *l, ctx *c, ui_overview *o)
{
    alias_move *moves = arena_zalloc(c->a, MOVES_MAX * sizeof *moves);
    size_t n = 0;
    if (!moves)
        return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    alias_move_query q = {.latest = true, .limit = MOVES_MAX};
    ledger_status st = alias_moves_list(l, &q, moves, MOVES_MAX, &n);
    for (size_t i = 0; i < n; i++)
        if (arena_on_reset(c->a, clear_move, &moves[i]) != 0) {
            for (size_t k = i + 1; k < n; k++)
                alias_move_clear(&moves[k]);
            return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
        }
    for (size_t i = 0; st == LEDGER_OK && i < n; i++)
        for (size_t m = 0; m < o->n_models; m++) {
            if (strcmp(o->models[m].name, moves[i].model) != 0)
                continue;
            for (size_t v = 0; v < o->models[m].n_versions; v++) {
                ui_version *ver = &o->models[m].versions[v];
                if (strcmp(ver->run->version_id, moves[i].to_version) != 0)
                    continue;
                add_alias(c, &ver->aliases, moves[i].alias);
            }
        }
    return st;
}

static void event_from(ctx *c, const ledger_record *r, ui_event *e)
{
    json_t *outcome = r->outcome ? json_loads(r->outcome, 0, NULL) : NULL;
    *e = (ui_event){.key = copy(c, r->key),
                    .id = copy(c, r->id),
                    .source = copy(c, r->source),
                    .subject = copy(c, r->subject),
                    .status = copy(c, r->status),
                    .error = copy(c, r->last_error),
                    .rule = copy(c, json_string_value(json_object_get(outcome, "rule"))),
                    .first_seen_ms = r->first_seen_ms,
                    .last_seen_ms = r->last_seen_ms,
                    .attempts = r->attempts,
                    .run_id = copy(c, r->run_id)};
    json_decref(outcome);
}

/* The object (of "objects/NAME") the first event of each rule's latest runs names. */
static ledger_status read_objects(ledger *l, ctx *c, ui_overview *o)
{
    for (size_t i = 0; i < o->n_rules; i++)
        for (size_t k = 0; k < o->rules[i].n_latest; k++) {
            ui_run *u = o->rules[i].latest[k];
            char keys[1][LEDGER_KEY_HEX + 1];
            size_t n = 0;
            ledger_record rec = {0};
            ledger_status st = runs_events(l, u->id, keys, 1, &n);
            if (st == LEDGER_OK && n == 1)
                st = ledger_get(l, keys[0], &rec);
            if (st == LEDGER_ERR_NOT_FOUND) /* gone with gc */
                continue;
            if (st != LEDGER_OK)
                return st;
            if (n == 1)
                u->object = copy(c, ui_subject_object(rec.subject));
            ledger_record_clear(&rec);
        }
    return LEDGER_OK;
}

/* The newest dead letters: every failed record, oldest first, the last UI_DEAD_SHOWN kept. */
static ledger_status read_dead(ledger *l, ctx *c, ui_overview *o)
{
    ledger_status st = ledger_count_status(l, "failed", &o->dead_letters);
    ledger_record *page = st == LEDGER_OK ? calloc(DEAD_PAGE, sizeof *page) : NULL;
    if (st != LEDGER_OK || !page)
        return st != LEDGER_OK ? st : ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    char after[LEDGER_KEY_HEX + 1] = "";
    int64_t seen = 0;
    for (size_t read = 0; read < UI_DEAD_READ;) {
        ledger_query q = {
            .status = "failed", .limit = DEAD_PAGE, .after_key = after[0] ? after : NULL};
        size_t got = 0;
        if ((st = ledger_list(l, &q, page, DEAD_PAGE, &got)) != LEDGER_OK)
            break;
        for (size_t i = 0; i < got; i++) {
            if (seen++ < o->dead_letters - UI_DEAD_SHOWN)
                continue;
            size_t n = o->n_dead < UI_DEAD_SHOWN ? o->n_dead + 1 : UI_DEAD_SHOWN;
            memmove(&o->dead[1], &o->dead[0], (n - 1) * sizeof o->dead[0]);
            event_from(c, &page[i], &o->dead[0]);
            o->n_dead = n;
        }
        if (got)
            memcpy(after, page[got - 1].key, sizeof after);
        for (size_t i = 0; i < got; i++)
            ledger_record_clear(&page[i]);
        read += got;
        if (got < DEAD_PAGE)
            break;
    }
    free(page);
    return st;
}

const char *ui_subject_object(const char *subject)
{
    return subject && strncmp(subject, "objects/", 8) == 0 ? subject + 8 : subject;
}

ledger_status ui_data_overview(ledger *l, arena *a, ui_overview *out)
{
    memset(out, 0, sizeof *out);
    ctx c = {.a = a};
    size_t rules_cap = 0;
    ledger_status st = read_counts(l, &c, out, &rules_cap);
    if (st == LEDGER_OK)
        st = read_runs(l, &c, out, &rules_cap);
    for (size_t m = 0; st == LEDGER_OK && m < out->n_models; m++)
        qsort(out->models[m].versions, out->models[m].n_versions, sizeof out->models[m].versions[0],
              by_version);
    if (st == LEDGER_OK)
        st = read_objects(l, &c, out);
    if (st == LEDGER_OK)
        st = read_aliases(l, &c, out);
    if (st == LEDGER_OK)
        st = read_dead(l, &c, out);
    if (st == LEDGER_OK && c.oom)
        st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    return st;
}

ledger_status ui_data_events(ledger *l, arena *a, const char *id, const char *name, ui_event *out,
                             size_t *n)
{
    *n = 0;
    ctx c = {.a = a};
    const char *subject = id ? NULL : arena_printf(a, "objects/%s", name ? name : "");
    ledger_record recs[UI_EVENT_MATCHES];
    memset(recs, 0, sizeof recs);
    if (!id && !subject)
        return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    ledger_query q = {.id = id, .subject = subject, .limit = UI_EVENT_MATCHES};
    size_t got = 0;
    ledger_status st = ledger_list(l, &q, recs, UI_EVENT_MATCHES, &got);
    for (size_t i = 0; i < got; i++) {
        event_from(&c, &recs[i], &out[i]);
        ledger_record_clear(&recs[i]);
    }
    *n = got;
    if (st == LEDGER_OK && c.oom)
        st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    return st;
}

ledger_status ui_data_run(ledger *l, arena *a, const char *id, ui_run *out, const char **aliases)
{
    ctx c = {.a = a};
    run_record r = {0};
    *aliases = "";
    ledger_status st = runs_get(l, id, &r);
    if (st != LEDGER_OK)
        return st;
    run_from(&c, &r, out);
    run_record_clear(&r);
    if (out->model && out->version_id) {
        alias_move moves[64] = {0};
        size_t n = 0;
        alias_move_query q = {.model = out->model, .latest = true, .limit = 64};
        st = alias_moves_list(l, &q, moves, 64, &n);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(moves[i].to_version, out->version_id) == 0)
                add_alias(&c, aliases, moves[i].alias);
            alias_move_clear(&moves[i]);
        }
    }
    if (st == LEDGER_OK && c.oom)
        st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ui: out of memory");
    return st;
}

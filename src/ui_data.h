/* ui_data — what the operator page shows, read from the ledger in one go, so every host that
 * shares a ledger shows the same: per rule its latest runs and what waits (queued events, open
 * batches), the dead letters, per model the versions its runs made with the gate's metric and
 * decision and the aliases each holds now (the newest recorded move of each alias), and one
 * event with the run it started or joined.
 *
 * Nothing here asks Google: aliases are the ledger's audit of moves (alias_moves.h), so an alias
 * moved outside this service (the console) is not seen, and a version's "candidate" alias, given
 * at upload and never moved by the gate, is not listed.
 *
 * Memory: everything filled lives in the arena A given (strings copied out of the ledger's
 * records, which are released before returning). Bounded: at most UI_RUNS_READ runs and
 * UI_DEAD_READ dead letters are read, the newest kept. Errors are ledger_status values with the
 * handle's message (ledger_last_error). */
#ifndef RT_UI_DATA_H
#define RT_UI_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ledger.h"
#include "runs.h"

#define UI_RUNS_READ 20000  /* runs read for one page, oldest first */
#define UI_RUNS_PER_RULE 10 /* the latest runs shown per rule */
#define UI_VERSIONS_MAX 50  /* the latest versions shown per model */
#define UI_DEAD_READ 5000   /* dead letters read */
#define UI_DEAD_SHOWN 20    /* and the latest shown */
#define UI_EVENT_MATCHES 10 /* events one id or object name finds */

/* One run, as the page shows it. */
typedef struct {
    char id[RUN_ID_LEN + 1];
    const char *rule;
    run_state state;
    int events;
    int64_t queued_ms, ended_ms;
    int error_code;
    const char *error_message;      /* Google's; NULL: none */
    const char *model, *version_id; /* what it made: MODEL and its version; NULL: none */
    const char *decision;           /* RUN_DECISION_*; "": none */
    const char *metric, *reason;    /* the gate's; NULL: none */
    bool has_value;                 /* VALUE is the version's metric */
    double value;
    const char *batch_key; /* NULL: no batch */
    const char *object;    /* the object of its first event; NULL: not read */
    bool collecting;       /* an open batch or follow-up, still taking events */
} ui_run;

typedef struct {
    const char *name;
    ui_run *latest[UI_RUNS_PER_RULE]; /* newest first, with their first event's object */
    size_t n_latest;
    int64_t runs; /* every run of the rule the page read */
    int64_t by_state[RUN_CANCELLED + 1];
    int64_t queued_events; /* in queued runs that are no batches */
    int64_t open_batches, batch_events;
} ui_rule;

typedef struct {
    const ui_run *run;
    const char *aliases; /* the aliases it holds now, ", "-separated; "": none */
} ui_version;

typedef struct {
    const char *name;                     /* projects/P/locations/L/models/ID */
    ui_version versions[UI_VERSIONS_MAX]; /* oldest first */
    size_t n_versions;
} ui_model;

typedef struct {
    const char *key, *id, *source, *subject, *status, *error, *rule;
    int64_t first_seen_ms, last_seen_ms;
    int attempts;
    const char *run_id; /* NULL: none */
} ui_event;

typedef struct {
    ui_rule *rules;
    size_t n_rules;
    ui_model *models;
    size_t n_models;
    int64_t dead_letters;
    ui_event dead[UI_DEAD_SHOWN]; /* newest first */
    size_t n_dead;
    bool runs_cut; /* more than UI_RUNS_READ runs: the oldest were read, not the rest */
} ui_overview;

/* The object name SUBJECT ("objects/NAME") names, else SUBJECT itself (NULL: NULL). */
const char *ui_subject_object(const char *subject);

ledger_status ui_data_overview(ledger *l, arena *a, ui_overview *out);

/* The events whose CloudEvent id is ID (any source) or, when ID is NULL, whose subject is
 * "objects/NAME" (a Cloud Storage object's name); at most UI_EVENT_MATCHES into OUT, *N of
 * them. */
ledger_status ui_data_events(ledger *l, arena *a, const char *id, const char *name, ui_event *out,
                             size_t *n);

/* Run ID as the page shows it, with the aliases its version holds now ("": none) into *ALIASES.
 * LEDGER_ERR_NOT_FOUND: no such run (gone with gc). */
ledger_status ui_data_run(ledger *l, arena *a, const char *id, ui_run *out, const char **aliases);

#endif

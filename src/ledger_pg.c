/* ledger_pg — the ledger in PostgreSQL, shared by every worker of every host.
 *
 * A claim is one INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE (the lease expired) ...
 * RETURNING. Under READ COMMITTED a conflicting row that another transaction is writing makes
 * the statement wait and then re-check the WHERE against the committed row, so exactly one
 * claimant takes a key. Every time comes from the server's clock (now()), so hosts with skewed
 * clocks still agree on leases. The schema is migrated at open under pg_advisory_lock, so hosts
 * starting together apply each migration once.
 *
 * A lost connection (the server restarted, the network dropped) fails the call that notices it
 * with LEDGER_ERR_UNAVAILABLE; the next call resets the connection and prepares the statements
 * again, with nothing restarted. Messages name host, port and database only, and anything the
 * server or libpq says is scrubbed of the password before it is kept. */
#include "ledger_backend.h"
#include "trace.h"

#include <postgresql/libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS "(extract(epoch from now()) * 1000)::bigint"
#define MIGRATION_LOCK 0x6c6564676572 /* "ledger" */

static const char *const migrations[] = {
    "CREATE TABLE ledger_events ("
    " key text PRIMARY KEY,"
    " source text NOT NULL, id text NOT NULL, type text, subject text, event_time text,"
    " status text NOT NULL CHECK (status IN"
    "  ('claimed', 'done', 'failed', 'coalesced', 'ignored')),"
    " first_seen_ms bigint NOT NULL, last_seen_ms bigint NOT NULL,"
    " lease_until_ms bigint NOT NULL, attempts integer NOT NULL,"
    " last_error text, outcome text, event_json text);"
    "CREATE INDEX ledger_events_first_seen ON ledger_events (first_seen_ms, key);"
    "CREATE INDEX ledger_events_status ON ledger_events (status, last_seen_ms);"
    "CREATE INDEX ledger_events_id ON ledger_events (id);",
    "CREATE TABLE ledger_rule_slots ("
    " rule text PRIMARY KEY, event_key text NOT NULL, resource text,"
    " submitted_ms bigint NOT NULL);",
    /* Runs: the work events started (runs.h). */
    "ALTER TABLE ledger_events ADD COLUMN run_id text;"
    "CREATE TABLE ledger_runs ("
    " id text PRIMARY KEY, rule text NOT NULL, action text NOT NULL, resource text,"
    " state text NOT NULL CHECK (state IN"
    "  ('queued', 'submitted', 'running', 'succeeded', 'failed', 'cancelled')),"
    " queued_ms bigint NOT NULL, submitted_ms bigint, started_ms bigint, ended_ms bigint,"
    " updated_ms bigint NOT NULL, error_code integer, error_message text,"
    " model_version text, model_version_id text);"
    "CREATE INDEX ledger_runs_queued ON ledger_runs (queued_ms, id);"
    "CREATE INDEX ledger_runs_state ON ledger_runs (state, updated_ms);"
    "CREATE TABLE ledger_run_events ("
    " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run_id text NOT NULL,"
    " event_key text NOT NULL, UNIQUE (run_id, event_key));",
    /* Following runs (runs_lease) and read budgets (budget.h). */
    "ALTER TABLE ledger_runs ADD COLUMN next_check_ms bigint,"
    " ADD COLUMN checks integer NOT NULL DEFAULT 0, ADD COLUMN follower text,"
    " ADD COLUMN follow_until_ms bigint NOT NULL DEFAULT 0;"
    "CREATE TABLE ledger_budgets ("
    " name text PRIMARY KEY, tokens double precision NOT NULL, at_ms bigint NOT NULL);",
    /* Follow-up runs (runs_follow_up): at most one collecting run per rule; notices of ended
     * runs (runs_notice_lease). */
    "ALTER TABLE ledger_runs ADD COLUMN after_run text,"
    " ADD COLUMN collecting integer NOT NULL DEFAULT 0,"
    " ADD COLUMN notify_state integer NOT NULL DEFAULT 0, ADD COLUMN notify_next_ms bigint,"
    " ADD COLUMN notify_tries integer NOT NULL DEFAULT 0;"
    "CREATE INDEX ledger_runs_notify ON ledger_runs (notify_state, ended_ms);"
    "CREATE UNIQUE INDEX ledger_runs_collecting ON ledger_runs (rule) WHERE collecting = 1;",
    /* Batches (runs_batch_join): one open batch per rule and key; an event of an expired batch
     * is `expired`. */
    "ALTER TABLE ledger_events DROP CONSTRAINT ledger_events_status_check,"
    " ADD CONSTRAINT ledger_events_status_check CHECK (status IN"
    "  ('claimed', 'done', 'failed', 'coalesced', 'ignored', 'expired'));"
    "CREATE INDEX ledger_events_run ON ledger_events (run_id);"
    "ALTER TABLE ledger_runs ADD COLUMN batch_key text,"
    " ADD COLUMN batch_size integer NOT NULL DEFAULT 0, ADD COLUMN last_event_ms bigint,"
    " ADD COLUMN batch_closed text, ADD COLUMN closed_ms bigint;"
    "DROP INDEX ledger_runs_collecting;"
    "CREATE UNIQUE INDEX ledger_runs_collecting ON ledger_runs (rule, coalesce(batch_key, ''))"
    " WHERE collecting = 1;"
    "CREATE INDEX ledger_run_events_event ON ledger_run_events (event_key);",
    /* Promotion (the gate's decision on a run) and the audit of every alias move. */
    "ALTER TABLE ledger_runs ADD COLUMN decision text, ADD COLUMN decision_json text;"
    "CREATE TABLE ledger_alias_moves ("
    " seq bigserial PRIMARY KEY,"
    " model text NOT NULL, alias text NOT NULL, from_version text, to_version text NOT NULL,"
    " metric text, value double precision, run_id text, actor text NOT NULL, why text NOT NULL,"
    " at_ms bigint NOT NULL);"
    "CREATE INDEX ledger_alias_moves_model ON ledger_alias_moves (model, alias, seq);",
    /* The W3C traceparent of the delivery that began a run (trace.h). */
    "ALTER TABLE ledger_runs ADD COLUMN trace text;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum {
    P_GET,
    P_UPSERT,
    P_TOUCH,
    P_FINISH,
    P_RELEASE,
    P_RENEW,
    P_REOPEN,
    P_LIST,
    P_GC,
    P_PING,
    P_SLOT_TAKE,
    P_SLOT_GET,
    P_SLOT_SET,
    P_SLOT_FREE,
    P_RUN_NAME,
    P_RUN_INSERT,
    P_RUN_COVER,
    P_RUN_UPDATE,
    P_RUN_GET,
    P_RUN_LIST,
    P_RUN_EVENTS,
    P_RUN_LEASE,
    P_RUN_CHECKED,
    P_BUDGET_TAKE,
    P_RUN_END_EVENTS,
    P_RUN_COVERING,
    P_BATCH_FIND,
    P_BATCH_INSERT,
    P_BATCH_COVER,
    P_BATCH_CLOSED,
    P_RUN_COUNTS,
    P_RUN_QUEUE,
    P_RUN_COLLECTING_INSERT,
    P_RUN_COLLECTING,
    P_RUN_COVER_COLLECTING,
    P_RUN_COVERS,
    P_RUN_DUE_NOW,
    P_RUN_NOTICE_LEASE,
    P_RUN_NOTICED,
    P_RUN_DECIDE,
    P_DECISION_COUNTS,
    P_COUNT_STATUS,
    P_MOVE_ADD,
    P_MOVE_LIST,
    P_GC_RUN_EVENTS,
    P_GC_RUNS,
    P_COUNT
};

static const struct {
    const char *name, *sql;
} stmts[P_COUNT] = {
    [P_GET] = {"ledger_get", "SELECT " LEDGER_COLUMNS " FROM ledger_events WHERE key = $1"},
    [P_UPSERT] = {"ledger_upsert",
                  "INSERT INTO ledger_events AS e (key, source, id, type, subject, event_time,"
                  " status, first_seen_ms, last_seen_ms, lease_until_ms, attempts, event_json)"
                  " VALUES ($1, $2, $3, $4, $5, $6, 'claimed', " NOW_MS ", " NOW_MS ", " NOW_MS
                  " + $7::bigint * 1000, 1, $8)"
                  " ON CONFLICT (key) DO UPDATE SET attempts = e.attempts + 1,"
                  "  lease_until_ms = excluded.lease_until_ms,"
                  "  last_seen_ms = excluded.last_seen_ms,"
                  "  event_json = coalesce(e.event_json, excluded.event_json)"
                  " WHERE e.status = 'claimed' AND e.lease_until_ms <= excluded.last_seen_ms"
                  " RETURNING " LEDGER_COLUMNS},
    [P_TOUCH] = {"ledger_touch", "UPDATE ledger_events SET last_seen_ms = " NOW_MS
                                 " WHERE key = $1 AND last_seen_ms < " NOW_MS " - $2::bigint"},
    [P_FINISH] = {"ledger_finish", "UPDATE ledger_events SET status = $2, outcome = $3,"
                                   " last_error = coalesce($4, last_error), lease_until_ms = 0"
                                   " WHERE key = $1 AND status = 'claimed'"
                                   " AND attempts = $5::integer"},
    [P_RELEASE] = {"ledger_release", "UPDATE ledger_events SET lease_until_ms = 0, last_error = $2"
                                     " WHERE key = $1 AND status = 'claimed'"
                                     " AND attempts = $3::integer"},
    [P_RENEW] = {"ledger_renew",
                 "UPDATE ledger_events"
                 " SET lease_until_ms = " NOW_MS " + $3::bigint * 1000"
                 " WHERE key = $1 AND status = 'claimed' AND attempts = $2::integer"},
    [P_REOPEN] = {"ledger_reopen", "UPDATE ledger_events SET status = 'claimed',"
                                   " attempts = attempts + 1,"
                                   " lease_until_ms = " NOW_MS " + $2::bigint * 1000,"
                                   " run_id = NULL WHERE key = $1"
                                   " AND status IN ('failed', 'expired')"},
    [P_LIST] = {"ledger_list",
                "SELECT " LEDGER_COLUMNS " FROM ledger_events"
                " WHERE ($1::text IS NULL OR status = $1) AND first_seen_ms >= $2::bigint"
                " AND ($3::text IS NULL OR (first_seen_ms, key) >"
                "  ((SELECT first_seen_ms FROM ledger_events WHERE key = $3), $3))"
                " AND ($4::text IS NULL OR id = $4) AND ($6::text IS NULL OR subject = $6)"
                " ORDER BY first_seen_ms, key LIMIT $5::integer"},
    [P_GC] = {"ledger_gc", "DELETE FROM ledger_events WHERE status <> 'claimed'"
                           " AND last_seen_ms < " NOW_MS " - $1::bigint * 1000"},
    [P_GC_RUN_EVENTS] = {"ledger_gc_run_events",
                         "DELETE FROM ledger_run_events WHERE run_id IN (SELECT id FROM ledger_runs"
                         " WHERE" RUN_GC_WHERE(NOW_MS " - $1::bigint * 1000") ")"},
    [P_GC_RUNS] = {"ledger_gc_runs",
                   "DELETE FROM ledger_runs WHERE" RUN_GC_WHERE(NOW_MS " - $1::bigint * 1000")},
    [P_PING] = {"ledger_ping", "SELECT 1"},
    /* Under READ COMMITTED a concurrent taker makes this wait, then re-check the WHERE against
     * the committed row: one taker wins. SET reads the row as it was. */
    [P_SLOT_TAKE] = {"ledger_slot_take",
                     "INSERT INTO ledger_rule_slots AS s (rule, event_key, resource, submitted_ms)"
                     " VALUES ($1, $2, NULL, " NOW_MS ")"
                     " ON CONFLICT (rule) DO UPDATE SET"
                     "  resource = CASE WHEN s.event_key = excluded.event_key THEN s.resource END,"
                     "  submitted_ms = CASE WHEN s.event_key = excluded.event_key"
                     "   THEN s.submitted_ms ELSE excluded.submitted_ms END,"
                     "  event_key = excluded.event_key"
                     " WHERE s.event_key = excluded.event_key OR s.event_key = $4::text"
                     "  OR s.submitted_ms + $3::bigint * 1000 <= excluded.submitted_ms"
                     " RETURNING " LEDGER_SLOT_COLUMNS ", " NOW_MS " - submitted_ms"},
    [P_SLOT_GET] = {"ledger_slot_get", "SELECT " LEDGER_SLOT_COLUMNS ", " NOW_MS " - submitted_ms"
                                       " FROM ledger_rule_slots WHERE rule = $1"},
    [P_SLOT_SET] = {"ledger_slot_set",
                    "UPDATE ledger_rule_slots SET resource = $3,"
                    " submitted_ms = " NOW_MS " WHERE rule = $1 AND event_key = $2"},
    [P_SLOT_FREE] = {"ledger_slot_free",
                     "DELETE FROM ledger_rule_slots WHERE rule = $1 AND event_key = $2"},
    [P_RUN_NAME] = {"ledger_run_name",
                    "UPDATE ledger_events SET run_id = coalesce(run_id, $2)"
                    " WHERE key = $1 AND status = 'claimed' AND attempts = $3::integer"
                    " RETURNING run_id"},
    [P_RUN_INSERT] = {"ledger_run_insert",
                      "INSERT INTO ledger_runs (id, rule, action, state, queued_ms, updated_ms,"
                      " trace) VALUES ($1, $2, $3, 'queued', " NOW_MS ", " NOW_MS ", $4)"
                      " ON CONFLICT (id) DO NOTHING"},
    [P_RUN_COVER] = {"ledger_run_cover",
                     "INSERT INTO ledger_run_events (run_id, event_key) VALUES ($1, $2)"
                     " ON CONFLICT DO NOTHING"},
    [P_RUN_UPDATE] = {"ledger_run_update",
                      "UPDATE ledger_runs SET state = $2, resource = coalesce($3, resource),"
                      " error_code = coalesce($4::integer, error_code),"
                      " error_message = coalesce($5, error_message),"
                      " model_version = coalesce($6, model_version),"
                      " model_version_id = coalesce($7, model_version_id),"
                      " submitted_ms = CASE WHEN $2 = 'submitted'"
                      "  THEN coalesce(submitted_ms, " NOW_MS ") ELSE submitted_ms END,"
                      " started_ms = CASE WHEN $2 = 'running'"
                      "  THEN coalesce(started_ms, $9::bigint, " NOW_MS ")"
                      "  ELSE coalesce(started_ms, $9::bigint) END,"
                      " ended_ms = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled')"
                      "  THEN coalesce(ended_ms, $10::bigint, " NOW_MS ") ELSE ended_ms END,"
                      " notify_state = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled')"
                      "  AND state NOT IN ('succeeded', 'failed', 'cancelled') THEN 1"
                      "  ELSE notify_state END,"
                      " collecting = CASE WHEN $2 = 'queued' THEN collecting ELSE 0 END,"
                      " decision = coalesce(decision, $11),"
                      " updated_ms = " NOW_MS
                      " WHERE id = $1 AND position(',' || state || ',' in $8) > 0"},
    [P_RUN_GET] = {"ledger_run_get", "SELECT " RUN_COLUMNS " FROM ledger_runs r WHERE r.id = $1"},
    [P_RUN_LIST] =
        {"ledger_run_list",
         "SELECT " RUN_COLUMNS " FROM ledger_runs r"
         " WHERE ($1::text IS NULL OR r.rule = $1) AND ($2::text IS NULL OR r.state = $2)"
         " AND r.queued_ms >= $3::bigint"
         " AND ($4::text IS NULL OR (r.queued_ms, r.id) >"
         "  ((SELECT queued_ms FROM ledger_runs WHERE id = $4), $4))"
         " AND ($6::integer = 0 OR (r.batch_key IS NOT NULL AND r.state = 'queued'))"
         " AND ($7::text IS NULL OR left(r.model_version, length($7)) = $7)"
         " ORDER BY r.queued_ms, r.id LIMIT $5::integer"},
    [P_RUN_EVENTS] = {"ledger_run_events", "SELECT event_key FROM ledger_run_events"
                                           " WHERE run_id = $1 ORDER BY seq LIMIT $2::bigint"},
    /* SKIP LOCKED: followers asking at once lease different runs instead of queueing on one;
     * the row a follower locks is re-checked against the subquery's WHERE as committed. */
    [P_RUN_LEASE] =
        {"ledger_run_lease",
         "UPDATE ledger_runs SET follower = $1,"
         " follow_until_ms = " NOW_MS " + $2::bigint, collecting = 0"
         " WHERE id = (SELECT id FROM ledger_runs r"
         "  WHERE ((($4::integer & 1) <> 0 AND state IN ('submitted', 'running')"
         "    AND resource IS NOT NULL"
         "    AND coalesce(next_check_ms, submitted_ms + $3::bigint) <= " NOW_MS ")"
         "   OR (($4::integer & 2) <> 0 AND state = 'queued' AND next_check_ms <= " NOW_MS
         "    AND " RUN_AFTER_ENDED ")"
         "   OR (($4::integer & 4) <> 0 AND state = 'succeeded'"
         "    AND decision IN ('pending', 'promoting')"
         "    AND coalesce(next_check_ms, 0) <= " NOW_MS "))"
         "  AND follow_until_ms <= " NOW_MS
         "  ORDER BY state <> 'queued', coalesce(next_check_ms, submitted_ms + $3::bigint),"
         "   id"
         "  LIMIT 1 FOR UPDATE OF r SKIP LOCKED)"
         " RETURNING id"},
    [P_RUN_CHECKED] = {"ledger_run_checked",
                       "UPDATE ledger_runs SET next_check_ms = " NOW_MS " + $3::bigint,"
                       " checks = $4::integer, follower = NULL, follow_until_ms = 0"
                       " WHERE id = $1 AND follower = $2"},
    [P_RUN_END_EVENTS] = {"ledger_run_end_events",
                          "UPDATE ledger_events SET status = $3, last_error = $2"
                          " WHERE run_id = $1 AND status IN ('done', 'coalesced')"},
    [P_RUN_COVERING] = {"ledger_run_covering",
                        "SELECT e.run_id FROM ledger_run_events e JOIN ledger_runs r"
                        " ON r.id = e.run_id WHERE e.event_key = $1"
                        " AND r.state NOT IN ('failed', 'cancelled') ORDER BY e.seq DESC LIMIT 1"},
    [P_BATCH_FIND] = {"ledger_batch_find", "SELECT id FROM ledger_runs WHERE rule = $1"
                                           " AND batch_key = $2 AND collecting = 1"},
    [P_BATCH_INSERT] = {"ledger_batch_insert",
                        "INSERT INTO ledger_runs (id, rule, action, state, queued_ms, updated_ms,"
                        " collecting, batch_key, trace) VALUES ($1, $2, $3, 'queued', " NOW_MS
                        ", " NOW_MS ", 1, $4, $5) ON CONFLICT DO NOTHING"},
    /* One statement: the row lock orders joiners and a sealing lease, and a joiner that waited
     * re-checks collecting on the row as committed. */
    [P_BATCH_COVER] =
        {"ledger_batch_cover",
         "WITH u AS (UPDATE ledger_runs SET" RUN_BATCH_COVER_SET(
             NOW_MS, "$3::bigint", "$4::bigint", "$5::integer",
             "$6::integer") " WHERE id = $1 AND collecting = 1 AND NOT EXISTS (SELECT 1"
                            "  FROM ledger_run_events WHERE run_id = $1 AND event_key = $2)"
                            " RETURNING id, batch_size, collecting),"
                            " i AS (INSERT INTO ledger_run_events (run_id, event_key)"
                            "  SELECT id, $2 FROM u RETURNING 1)"
                            " SELECT batch_size, collecting FROM u"},
    [P_BATCH_CLOSED] = {"ledger_batch_closed",
                        "UPDATE ledger_runs SET batch_closed = $2, closed_ms = $3::bigint"
                        " WHERE id = $1 AND batch_closed IS NULL"},
    [P_RUN_COUNTS] = {"ledger_run_counts", RUN_COUNTS_SELECT " LIMIT $1::bigint"},
    [P_RUN_DECIDE] =
        {"ledger_run_decide",
         "UPDATE ledger_runs SET decision = $2,"
         " decision_json = coalesce($3, decision_json), updated_ms = " NOW_MS
         " WHERE id = $1 AND position(',' || coalesce(decision, '') || ',' in $4) > 0"},
    [P_COUNT_STATUS] = {"ledger_count_status",
                        "SELECT count(*) FROM ledger_events WHERE status = $1"},
    [P_DECISION_COUNTS] = {"ledger_decision_counts",
                           "SELECT rule, decision, count(*) FROM ledger_runs"
                           " WHERE decision IS NOT NULL GROUP BY rule, decision"
                           " ORDER BY rule, decision LIMIT $1::bigint"},
    [P_MOVE_ADD] = {"ledger_move_add",
                    "INSERT INTO ledger_alias_moves (model, alias, from_version, to_version,"
                    " metric, value, run_id, actor, why, at_ms)"
                    " VALUES ($1, $2, $3, $4, $5, $6::double precision, $7, $8, $9, " NOW_MS ")"},
    [P_MOVE_LIST] = {"ledger_move_list",
                     "SELECT " ALIAS_MOVE_COLUMNS " FROM ledger_alias_moves m"
                     " WHERE ($1::text IS NULL OR model = $1) AND ($2::text IS NULL OR alias = $2)"
                     " AND ($3::integer = 0 OR seq = (SELECT max(seq) FROM ledger_alias_moves w"
                     "  WHERE w.model = m.model AND w.alias = m.alias))"
                     " ORDER BY seq DESC LIMIT $4::integer"},
    [P_RUN_QUEUE] = {"ledger_run_queue",
                     "UPDATE ledger_runs SET next_check_ms = " NOW_MS " + $2::bigint,"
                     " updated_ms = " NOW_MS " WHERE id = $1 AND state = 'queued'"},
    [P_RUN_COLLECTING_INSERT] = {"ledger_run_collecting_insert",
                                 "INSERT INTO ledger_runs (id, rule, action, state, queued_ms,"
                                 " updated_ms, next_check_ms, after_run, collecting, trace)"
                                 " VALUES ($1, $2, $3, 'queued', " NOW_MS ", " NOW_MS ", " NOW_MS
                                 ", $4, 1, $5) ON CONFLICT DO NOTHING"},
    [P_RUN_COLLECTING] = {"ledger_run_collecting",
                          "SELECT id FROM ledger_runs WHERE rule = $1 AND collecting = 1"
                          " AND batch_key IS NULL"},
    /* FOR SHARE: a lease sealing the run waits for this insert (or skips the run); one that
     * sealed it first leaves no row to insert from. */
    [P_RUN_COVER_COLLECTING] = {"ledger_run_cover_collecting",
                                "WITH c AS (SELECT id FROM ledger_runs"
                                " WHERE id = $1 AND collecting = 1 FOR SHARE)"
                                " INSERT INTO ledger_run_events (run_id, event_key)"
                                " SELECT id, $2 FROM c ON CONFLICT DO NOTHING"},
    [P_RUN_DUE_NOW] = {"ledger_run_due_now",
                       "UPDATE ledger_runs SET next_check_ms = " NOW_MS " WHERE id = $1"
                       " AND state IN ('submitted', 'running') AND resource IS NOT NULL"},
    [P_RUN_NOTICE_LEASE] = {"ledger_run_notice_lease",
                            "UPDATE ledger_runs SET follower = $1,"
                            " follow_until_ms = " NOW_MS " + $2::bigint"
                            " WHERE id = (SELECT id FROM ledger_runs WHERE notify_state = 1"
                            "  AND ended_ms >= $3::bigint"
                            "  AND coalesce(notify_next_ms, 0) <= " NOW_MS
                            "  AND follow_until_ms <= " NOW_MS
                            "  AND coalesce(decision, '') NOT IN ('pending', 'promoting')"
                            "  ORDER BY coalesce(notify_next_ms, ended_ms), id"
                            "  LIMIT 1 FOR UPDATE SKIP LOCKED)"
                            " RETURNING id"},
    [P_RUN_NOTICED] = {"ledger_run_noticed",
                       "UPDATE ledger_runs SET notify_state = CASE WHEN $3::boolean THEN 2"
                       " ELSE 1 END, notify_tries = $4::integer,"
                       " notify_next_ms = " NOW_MS " + $5::bigint, follower = NULL,"
                       " follow_until_ms = 0 WHERE id = $1 AND follower = $2"},
    [P_RUN_COVERS] = {"ledger_run_covers", "SELECT 1 FROM ledger_run_events"
                                           " WHERE run_id = $1 AND event_key = $2"},
    /* Concurrent takers queue on the row's lock and each re-checks the WHERE as committed. */
    [P_BUDGET_TAKE] = {"ledger_budget_take",
                       "INSERT INTO ledger_budgets AS b (name, tokens, at_ms)"
                       " VALUES ($1, $2::double precision - 1, " NOW_MS ")"
                       " ON CONFLICT (name) DO UPDATE SET"
                       "  tokens = least($2::double precision, b.tokens"
                       "   + greatest(0, " NOW_MS " - b.at_ms) * $3::double precision) - 1,"
                       "  at_ms = " NOW_MS " WHERE least($2::double precision, b.tokens"
                       "  + greatest(0, " NOW_MS " - b.at_ms) * $3::double precision) >= 1"
                       " RETURNING tokens"},
};

typedef struct {
    PGconn *conn;
    bool prepared;
    bool broken;     /* a statement failed with a connection error: reset before the next */
    char *password;  /* only to scrub messages; wiped on close */
    char where[160]; /* host:port/db, for messages */
} pg_ledger;

/* Copies the first line of MSG into OUT with every occurrence of the password masked. */
static void scrub(const pg_ledger *p, const char *msg, char *out, size_t cap)
{
    size_t o = 0, pwlen = p->password ? strlen(p->password) : 0;
    for (const char *m = msg ? msg : ""; *m && *m != '\n' && o + 1 < cap;) {
        if (pwlen && strncmp(m, p->password, pwlen) == 0) {
            for (const char *r = "***"; *r && o + 1 < cap; r++)
                out[o++] = *r;
            m += pwlen;
        } else {
            out[o++] = *m++;
        }
    }
    out[o] = '\0';
}

static ledger_status pg_fail(ledger *l, const char *what, const char *detail)
{
    pg_ledger *p = l->impl;
    char clean[LEDGER_ERR_MAX];
    scrub(p, detail, clean, sizeof clean);
    return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: postgres %s (%s): %s", what, p->where,
                       clean);
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

static ledger_status prepare_all(ledger *l)
{
    pg_ledger *p = l->impl;
    for (int i = 0; i < P_COUNT; i++) {
        PGresult *r = PQprepare(p->conn, stmts[i].name, stmts[i].sql, 0, NULL);
        bool ok = result_ok(r);
        PQclear(r);
        if (!ok)
            return pg_fail(l, "prepare", PQerrorMessage(p->conn));
    }
    p->prepared = true;
    return LEDGER_OK;
}

/* Makes sure the connection is up and the statements prepared, resetting a lost connection. */
static ledger_status ensure(ledger *l)
{
    pg_ledger *p = l->impl;
    if (p->broken || PQstatus(p->conn) != CONNECTION_OK) {
        p->prepared = false;
        p->broken = false;
        PQreset(p->conn);
        if (PQstatus(p->conn) != CONNECTION_OK)
            return pg_fail(l, "reconnect", PQerrorMessage(p->conn));
    }
    return p->prepared ? LEDGER_OK : prepare_all(l);
}

/* Runs statement I; on success *OUT owns the result. A failure leaves the connection for
 * ensure() to reset on the next call when it was lost. */
static ledger_status run(ledger *l, int i, int n, const char *const *vals, PGresult **out)
{
    *out = NULL;
    ledger_status st = ensure(l);
    if (st != LEDGER_OK)
        return st;
    pg_ledger *p = l->impl;
    PGresult *r = PQexecPrepared(p->conn, stmts[i].name, n, vals, NULL, NULL, 0);
    if (result_ok(r)) {
        *out = r;
        return LEDGER_OK;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    /* 26000: the server forgot our statements (a pooler switched sessions); prepare again.
     * Class 08 and 57P0x: the connection or the server is going away; start afresh. */
    if (state && strcmp(state, "26000") == 0)
        p->prepared = false;
    if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0))
        p->broken = true;
    st = pg_fail(l, stmts[i].name + strlen("ledger_"),
                 r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
    PQclear(r);
    return st;
}

static int tuples(PGresult *r)
{
    return (int)strtol(PQcmdTuples(r), NULL, 10);
}

static int row_to_record(PGresult *r, int row, ledger_record *rec)
{
    const char *cols[LEDGER_NCOLUMNS];
    for (int i = 0; i < LEDGER_NCOLUMNS; i++)
        cols[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
    return ledger_record_fill(rec, cols);
}

static ledger_status one_row(ledger *l, PGresult *r, ledger_record *rec, bool *found)
{
    *found = PQntuples(r) > 0;
    ledger_status st = LEDGER_OK;
    if (*found && row_to_record(r, 0, rec) != 0)
        st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
    PQclear(r);
    return st;
}

static ledger_status pq_get(ledger *l, const char *key, ledger_record *rec)
{
    memset(rec, 0, sizeof *rec);
    PGresult *r;
    ledger_status st = run(l, P_GET, 1, (const char *[]){key}, &r);
    bool found = false;
    if (st == LEDGER_OK && (st = one_row(l, r, rec, &found)) == LEDGER_OK && !found)
        st = LEDGER_ERR_NOT_FOUND;
    return st;
}

static ledger_status pq_upsert(ledger *l, const char *key, const ledger_event *ev, int lease_s,
                               ledger_record *rec, bool *taken)
{
    memset(rec, 0, sizeof *rec);
    *taken = false;
    char lease[24];
    snprintf(lease, sizeof lease, "%d", lease_s);
    const char *vals[] = {key,         ev->source,     ev->id, ev->type,
                          ev->subject, ev->event_time, lease,  ev->event_json};
    PGresult *r;
    ledger_status st = run(l, P_UPSERT, 8, vals, &r);
    return st == LEDGER_OK ? one_row(l, r, rec, taken) : st;
}

static ledger_status pq_touch(ledger *l, const char *key)
{
    char gap[24];
    snprintf(gap, sizeof gap, "%d", LEDGER_TOUCH_MS);
    PGresult *r;
    ledger_status st = run(l, P_TOUCH, 2, (const char *[]){key, gap}, &r);
    PQclear(r);
    return st;
}

static ledger_status changed_or_state(ledger *l, int i, int n, const char *const *vals)
{
    PGresult *r;
    ledger_status st = run(l, i, n, vals, &r);
    if (st == LEDGER_OK && tuples(r) == 0)
        st = LEDGER_ERR_STATE;
    PQclear(r);
    return st;
}

static ledger_status pq_finish(ledger *l, const ledger_hold *h, const char *status,
                               const char *outcome, const char *error)
{
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", h->attempt);
    return changed_or_state(l, P_FINISH, 5,
                            (const char *[]){h->key, status, outcome, error, attempt});
}

static ledger_status pq_release(ledger *l, const ledger_hold *h, const char *error)
{
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", h->attempt);
    return changed_or_state(l, P_RELEASE, 3, (const char *[]){h->key, error, attempt});
}

static ledger_status pq_renew(ledger *l, const ledger_hold *h, int lease_s)
{
    char attempt[16], lease[16];
    snprintf(attempt, sizeof attempt, "%d", h->attempt);
    snprintf(lease, sizeof lease, "%d", lease_s);
    return changed_or_state(l, P_RENEW, 3, (const char *[]){h->key, attempt, lease});
}

static ledger_status pq_reopen(ledger *l, const char *key, int lease_s)
{
    char lease[24];
    snprintf(lease, sizeof lease, "%d", lease_s);
    return changed_or_state(l, P_REOPEN, 2, (const char *[]){key, lease});
}

static ledger_status pq_list(ledger *l, const ledger_query *q, ledger_record *recs, size_t cap,
                             size_t *n)
{
    char since[24], limit[24];
    snprintf(since, sizeof since, "%lld", (long long)q->since_ms);
    snprintf(limit, sizeof limit, "%d", q->limit);
    const char *vals[] = {q->status, since, q->after_key, q->id, limit, q->subject};
    PGresult *r;
    ledger_status st = run(l, P_LIST, 6, vals, &r);
    if (st != LEDGER_OK)
        return st;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && *n < cap; i++) {
        if (row_to_record(r, i, &recs[*n]) != 0) {
            for (size_t j = 0; j < *n; j++)
                ledger_record_clear(&recs[j]);
            *n = 0;
            st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
            break;
        }
        (*n)++;
    }
    PQclear(r);
    return st;
}

static ledger_status pq_gc(ledger *l, int64_t older_than_s, int64_t *removed)
{
    char age[24];
    snprintf(age, sizeof age, "%lld", (long long)older_than_s);
    PGresult *r;
    ledger_status st = run(l, P_GC, 1, (const char *[]){age}, &r);
    if (st == LEDGER_OK)
        *removed = tuples(r);
    PQclear(r);
    /* Runs that ended as long ago go too, with the list of what they covered. */
    for (int i = P_GC_RUN_EVENTS; st == LEDGER_OK && i <= P_GC_RUNS; i++) {
        st = run(l, i, 1, (const char *[]){age}, &r);
        PQclear(r);
    }
    return st;
}

/* A liveness check answers for the database, not for a connection it dropped while idle: when
 * the first try finds the connection lost, the second one re-makes it. */
static ledger_status pq_ping(ledger *l)
{
    pg_ledger *p = l->impl;
    PGresult *r;
    ledger_status st = run(l, P_PING, 0, NULL, &r);
    if (st != LEDGER_OK && (p->broken || PQstatus(p->conn) != CONNECTION_OK))
        st = run(l, P_PING, 0, NULL, &r);
    PQclear(r);
    return st;
}

static ledger_status one_slot(ledger *l, PGresult *r, ledger_slot *slot, bool *found)
{
    *found = PQntuples(r) > 0;
    ledger_status st = LEDGER_OK;
    if (*found) {
        const char *cols[4];
        for (int i = 0; i < 4; i++)
            cols[i] = PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
        if (ledger_slot_fill(slot, cols) != 0)
            st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
    }
    PQclear(r);
    return st;
}

static ledger_status pq_slot_take(ledger *l, const char *rule, int min_interval_s,
                                  const char *event_key, const char *replace, ledger_slot *slot,
                                  bool *taken)
{
    memset(slot, 0, sizeof *slot);
    *taken = false;
    char interval[24];
    snprintf(interval, sizeof interval, "%d", min_interval_s);
    PGresult *r;
    ledger_status st =
        run(l, P_SLOT_TAKE, 4, (const char *[]){rule, event_key, interval, replace}, &r);
    return st == LEDGER_OK ? one_slot(l, r, slot, taken) : st;
}

static ledger_status pq_slot_get(ledger *l, const char *rule, ledger_slot *slot)
{
    memset(slot, 0, sizeof *slot);
    PGresult *r;
    ledger_status st = run(l, P_SLOT_GET, 1, (const char *[]){rule}, &r);
    bool found = false;
    if (st == LEDGER_OK && (st = one_slot(l, r, slot, &found)) == LEDGER_OK && !found)
        st = LEDGER_ERR_NOT_FOUND;
    return st;
}

static ledger_status pq_slot_set_resource(ledger *l, const char *rule, const char *event_key,
                                          const char *resource)
{
    return changed_or_state(l, P_SLOT_SET, 3, (const char *[]){rule, event_key, resource});
}

static ledger_status pq_slot_free(ledger *l, const char *rule, const char *event_key)
{
    PGresult *r;
    ledger_status st = run(l, P_SLOT_FREE, 2, (const char *[]){rule, event_key}, &r);
    PQclear(r);
    return st;
}

/* ---- runs ---------------------------------------------------------------------------------- */

/* Runs statement I, a write returning a run id into ID: OK, or NONE when it returned no row. */
static ledger_status returning_id(ledger *l, int i, int n, const char *const *vals,
                                  ledger_status none, char id[RUN_ID_LEN + 1])
{
    PGresult *r;
    ledger_status st = run(l, i, n, vals, &r);
    if (st != LEDGER_OK)
        return st;
    if (PQntuples(r) == 0)
        st = none;
    else
        snprintf(id, RUN_ID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

static ledger_status pq_run_name(ledger *l, const ledger_hold *h, const char *new_id,
                                 char id[RUN_ID_LEN + 1])
{
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", h->attempt);
    return returning_id(l, P_RUN_NAME, 3, (const char *[]){h->key, new_id, attempt},
                        LEDGER_ERR_STATE, id);
}

static ledger_status pq_run_insert(ledger *l, const char *id, const char *rule, const char *action,
                                   const char *event_key)
{
    PGresult *r;
    ledger_status st =
        run(l, P_RUN_INSERT, 4, (const char *[]){id, rule, action, trace_header()}, &r);
    PQclear(r);
    if (st == LEDGER_OK) {
        st = run(l, P_RUN_COVER, 2, (const char *[]){id, event_key}, &r);
        PQclear(r);
    }
    return st;
}

static ledger_status pq_run_update(ledger *l, const char *id, const run_change *ch,
                                   const char *state, const char *from)
{
    char code[16], started[24], ended[24];
    snprintf(code, sizeof code, "%d", ch->error_code);
    snprintf(started, sizeof started, "%lld", (long long)ch->started_ms);
    snprintf(ended, sizeof ended, "%lld", (long long)ch->ended_ms);
    const char *vals[] = {id,
                          state,
                          ch->resource,
                          ch->error_code ? code : NULL,
                          ch->error_message,
                          ch->model_version,
                          ch->model_version_id,
                          from,
                          ch->started_ms > 0 ? started : NULL,
                          ch->ended_ms > 0 ? ended : NULL,
                          ch->decision};
    return changed_or_state(l, P_RUN_UPDATE, 11, vals);
}

static int row_to_run(PGresult *r, int row, run_record *run)
{
    const char *cols[RUN_NCOLUMNS];
    for (int i = 0; i < RUN_NCOLUMNS; i++)
        cols[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
    return run_record_fill(run, cols);
}

static ledger_status pq_run_get(ledger *l, const char *id, run_record *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r;
    ledger_status st = run(l, P_RUN_GET, 1, (const char *[]){id}, &r);
    if (st != LEDGER_OK)
        return st;
    if (PQntuples(r) == 0)
        st = ledger_fail(l, LEDGER_ERR_NOT_FOUND, "runs: no run %s", id);
    else if (row_to_run(r, 0, out) != 0)
        st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
    PQclear(r);
    return st;
}

static ledger_status pq_run_list(ledger *l, const run_query *q, run_record *runs, size_t cap,
                                 size_t *n)
{
    char since[24], limit[24];
    snprintf(since, sizeof since, "%lld", (long long)q->since_ms);
    snprintf(limit, sizeof limit, "%d", q->limit);
    const char *open = q->open_batches ? "1" : "0";
    const char *vals[] = {q->rule, q->state >= 0 ? run_state_name((run_state)q->state) : NULL,
                          since,   q->after_id,
                          limit,   open,
                          q->model};
    PGresult *r;
    ledger_status st = run(l, P_RUN_LIST, 7, vals, &r);
    if (st != LEDGER_OK)
        return st;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        if (row_to_run(r, i, &runs[*n]) != 0) {
            while (*n > 0)
                run_record_clear(&runs[--*n]);
            st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
            break;
        }
        (*n)++;
    }
    PQclear(r);
    return st;
}

static ledger_status pq_run_events(ledger *l, const char *id, char (*keys)[LEDGER_KEY_HEX + 1],
                                   size_t cap, size_t *n)
{
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", cap);
    PGresult *r;
    ledger_status st = run(l, P_RUN_EVENTS, 2, (const char *[]){id, limit}, &r);
    if (st != LEDGER_OK)
        return st;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++)
        snprintf(keys[(*n)++], LEDGER_KEY_HEX + 1, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    return LEDGER_OK;
}

static ledger_status pq_run_lease(ledger *l, const char *owner, int64_t lease_ms, int64_t first_ms,
                                  int kinds, char id[RUN_ID_LEN + 1])
{
    char lease[24], first[24], k[8];
    snprintf(lease, sizeof lease, "%lld", (long long)lease_ms);
    snprintf(first, sizeof first, "%lld", (long long)first_ms);
    snprintf(k, sizeof k, "%d", kinds);
    return returning_id(l, P_RUN_LEASE, 4, (const char *[]){owner, lease, first, k},
                        LEDGER_ERR_NOT_FOUND, id);
}

static ledger_status pq_run_checked(ledger *l, const char *id, const char *owner, int64_t delay_ms,
                                    int checks)
{
    char delay[24], n[16];
    snprintf(delay, sizeof delay, "%lld", (long long)delay_ms);
    snprintf(n, sizeof n, "%d", checks);
    return changed_or_state(l, P_RUN_CHECKED, 4, (const char *[]){id, owner, delay, n});
}

static ledger_status pq_run_end_events(ledger *l, const char *id, const char *status,
                                       const char *error, int64_t *n)
{
    PGresult *r;
    ledger_status st = run(l, P_RUN_END_EVENTS, 3, (const char *[]){id, error, status}, &r);
    *n = st == LEDGER_OK ? tuples(r) : 0;
    PQclear(r);
    return st;
}

static ledger_status pq_run_covering(ledger *l, const char *event_key, char id[RUN_ID_LEN + 1])
{
    return returning_id(l, P_RUN_COVERING, 1, (const char *[]){event_key}, LEDGER_ERR_NOT_FOUND,
                        id);
}

static ledger_status pq_run_batch_open(ledger *l, const char *rule, const char *action,
                                       const char *key, const char *new_id, char id[RUN_ID_LEN + 1])
{
    ledger_status st =
        returning_id(l, P_BATCH_FIND, 2, (const char *[]){rule, key}, LEDGER_ERR_NOT_FOUND, id);
    if (st != LEDGER_ERR_NOT_FOUND)
        return st;
    PGresult *r;
    st = run(l, P_BATCH_INSERT, 5, (const char *[]){new_id, rule, action, key, trace_header()}, &r);
    PQclear(r);
    if (st != LEDGER_OK)
        return st;
    return returning_id(l, P_BATCH_FIND, 2, (const char *[]){rule, key}, LEDGER_ERR_NOT_FOUND, id);
}

static ledger_status pq_run_batch_cover(ledger *l, const char *id, const char *event_key,
                                        const runs_batch_terms *t, int *size, bool *closed)
{
    *size = 0;
    *closed = false;
    char quiet[24], wait[24], min[16], closes[4];
    snprintf(quiet, sizeof quiet, "%lld", (long long)t->quiet_period_s * 1000);
    snprintf(wait, sizeof wait, "%lld", (long long)t->max_wait_s * 1000);
    snprintf(min, sizeof min, "%d", t->min_events);
    snprintf(closes, sizeof closes, "%d", t->closes ? 1 : 0);
    PGresult *r;
    ledger_status st =
        run(l, P_BATCH_COVER, 6, (const char *[]){id, event_key, quiet, wait, min, closes}, &r);
    if (st != LEDGER_OK)
        return st;
    if (PQntuples(r) == 0) {
        st = LEDGER_ERR_NOT_FOUND;
    } else {
        *size = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
        *closed = strtol(PQgetvalue(r, 0, 1), NULL, 10) == 0;
    }
    PQclear(r);
    return st;
}

static ledger_status pq_run_batch_closed(ledger *l, const char *id, const char *why,
                                         int64_t closed_ms)
{
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)closed_ms);
    PGresult *r;
    ledger_status st = run(l, P_BATCH_CLOSED, 3, (const char *[]){id, why, at}, &r);
    PQclear(r);
    return st;
}

static ledger_status pq_run_queue(ledger *l, const char *id, int64_t delay_ms)
{
    char delay[24];
    snprintf(delay, sizeof delay, "%lld", (long long)delay_ms);
    return changed_or_state(l, P_RUN_QUEUE, 2, (const char *[]){id, delay});
}

static ledger_status pq_run_collecting(ledger *l, const char *rule, const char *action,
                                       const char *after, const char *new_id,
                                       char id[RUN_ID_LEN + 1])
{
    /* Most joins find the follow-up there: a read, no insert attempt. */
    ledger_status st =
        returning_id(l, P_RUN_COLLECTING, 1, (const char *[]){rule}, LEDGER_ERR_NOT_FOUND, id);
    if (st != LEDGER_ERR_NOT_FOUND)
        return st;
    PGresult *r;
    st = run(l, P_RUN_COLLECTING_INSERT, 5,
             (const char *[]){new_id, rule, action, after, trace_header()}, &r);
    bool made = st == LEDGER_OK && tuples(r) > 0;
    PQclear(r);
    if (made) {
        st = run(l, P_RUN_DUE_NOW, 1, (const char *[]){after}, &r);
        PQclear(r);
    }
    if (st != LEDGER_OK)
        return st;
    return returning_id(l, P_RUN_COLLECTING, 1, (const char *[]){rule}, LEDGER_ERR_NOT_FOUND, id);
}

static ledger_status pq_run_cover_collecting(ledger *l, const char *id, const char *event_key,
                                             bool *covered)
{
    *covered = false;
    PGresult *r;
    ledger_status st = run(l, P_RUN_COVER_COLLECTING, 2, (const char *[]){id, event_key}, &r);
    if (st == LEDGER_OK)
        *covered = tuples(r) > 0;
    PQclear(r);
    if (st != LEDGER_OK || *covered)
        return st;
    st = run(l, P_RUN_COVERS, 2, (const char *[]){id, event_key}, &r);
    if (st == LEDGER_OK)
        *covered = PQntuples(r) > 0;
    PQclear(r);
    return st;
}

static ledger_status pq_run_notice_lease(ledger *l, const char *owner, int64_t lease_ms,
                                         int64_t since_ms, char id[RUN_ID_LEN + 1])
{
    char lease[24], since[24];
    snprintf(lease, sizeof lease, "%lld", (long long)lease_ms);
    snprintf(since, sizeof since, "%lld", (long long)since_ms);
    return returning_id(l, P_RUN_NOTICE_LEASE, 3, (const char *[]){owner, lease, since},
                        LEDGER_ERR_NOT_FOUND, id);
}

static ledger_status pq_run_noticed(ledger *l, const char *id, const char *owner, bool sent,
                                    int tries, int64_t delay_ms)
{
    char n[16], delay[24];
    snprintf(n, sizeof n, "%d", tries);
    snprintf(delay, sizeof delay, "%lld", (long long)delay_ms);
    return changed_or_state(l, P_RUN_NOTICED, 5,
                            (const char *[]){id, owner, sent ? "true" : "false", n, delay});
}

static ledger_status pq_run_counts(ledger *l, run_count *counts, size_t cap, size_t *n)
{
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", cap);
    PGresult *r;
    ledger_status st = run(l, P_RUN_COUNTS, 1, (const char *[]){limit}, &r);
    if (st != LEDGER_OK)
        return st;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        const char *cols[RUN_COUNTS_NCOLUMNS];
        for (int k = 0; k < RUN_COUNTS_NCOLUMNS; k++)
            cols[k] = PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k);
        run_count_fill(&counts[(*n)++], cols);
    }
    PQclear(r);
    return st;
}

static ledger_status pq_run_decide(ledger *l, const char *id, const char *decision,
                                   const char *details, const char *from)
{
    return changed_or_state(l, P_RUN_DECIDE, 4, (const char *[]){id, decision, details, from});
}

static ledger_status pq_count_status(ledger *l, const char *status, int64_t *n)
{
    PGresult *r;
    ledger_status st = run(l, P_COUNT_STATUS, 1, (const char *[]){status}, &r);
    if (st != LEDGER_OK)
        return st;
    if (PQntuples(r) == 1)
        *n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return st;
}

static ledger_status pq_decision_counts(ledger *l, decision_count *counts, size_t cap, size_t *n)
{
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", cap);
    PGresult *r;
    ledger_status st = run(l, P_DECISION_COUNTS, 1, (const char *[]){limit}, &r);
    if (st != LEDGER_OK)
        return st;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        decision_count *c = &counts[(*n)++];
        snprintf(c->rule, sizeof c->rule, "%s", PQgetvalue(r, i, 0));
        snprintf(c->decision, sizeof c->decision, "%s", PQgetvalue(r, i, 1));
        c->count = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    }
    PQclear(r);
    return st;
}

static ledger_status pq_move_add(ledger *l, const alias_move *m)
{
    char value[40];
    snprintf(value, sizeof value, "%.17g", m->value);
    PGresult *r;
    ledger_status st =
        run(l, P_MOVE_ADD, 9,
            (const char *[]){m->model, m->alias, m->from_version, m->to_version, m->metric,
                             m->has_value ? value : NULL, m->run_id, m->by, m->why},
            &r);
    PQclear(r);
    return st;
}

static ledger_status pq_move_list(ledger *l, const alias_move_query *q, alias_move *out, size_t cap,
                                  size_t *n)
{
    char limit[24];
    snprintf(limit, sizeof limit, "%d", q->limit);
    PGresult *r;
    ledger_status st = run(l, P_MOVE_LIST, 4,
                           (const char *[]){q->model, q->alias, q->latest ? "1" : "0", limit}, &r);
    if (st != LEDGER_OK)
        return st;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        const char *cols[ALIAS_MOVE_NCOLUMNS];
        for (int k = 0; k < ALIAS_MOVE_NCOLUMNS; k++)
            cols[k] = PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k);
        if (alias_move_fill(&out[*n], cols) != 0) {
            while (*n > 0)
                alias_move_clear(&out[--*n]);
            st = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
            break;
        }
        (*n)++;
    }
    PQclear(r);
    return st;
}

static ledger_status pq_budget_take(ledger *l, const char *name, double capacity, double per_ms,
                                    bool *granted)
{
    char cap[32], rate[32];
    snprintf(cap, sizeof cap, "%.17g", capacity);
    snprintf(rate, sizeof rate, "%.17g", per_ms);
    PGresult *r;
    *granted = false;
    ledger_status st = run(l, P_BUDGET_TAKE, 3, (const char *[]){name, cap, rate}, &r);
    if (st == LEDGER_OK)
        *granted = PQntuples(r) > 0;
    PQclear(r);
    return st;
}

static void pq_close(ledger *l)
{
    pg_ledger *p = l->impl;
    if (!p)
        return;
    PQfinish(p->conn);
    if (p->password) {
        sodium_memzero(p->password, strlen(p->password));
        free(p->password);
    }
    free(p);
    l->impl = NULL;
}

static const ledger_ops pg_ops = {
    .name = "postgres",
    .get = pq_get,
    .upsert = pq_upsert,
    .touch = pq_touch,
    .finish = pq_finish,
    .release = pq_release,
    .renew = pq_renew,
    .reopen = pq_reopen,
    .list = pq_list,
    .gc = pq_gc,
    .ping = pq_ping,
    .slot_take = pq_slot_take,
    .slot_get = pq_slot_get,
    .slot_set_resource = pq_slot_set_resource,
    .slot_free = pq_slot_free,
    .run_name = pq_run_name,
    .run_insert = pq_run_insert,
    .run_update = pq_run_update,
    .run_get = pq_run_get,
    .run_list = pq_run_list,
    .run_events = pq_run_events,
    .run_lease = pq_run_lease,
    .run_checked = pq_run_checked,
    .run_end_events = pq_run_end_events,
    .run_covering = pq_run_covering,
    .run_batch_open = pq_run_batch_open,
    .run_batch_cover = pq_run_batch_cover,
    .run_batch_closed = pq_run_batch_closed,
    .run_counts = pq_run_counts,
    .run_queue = pq_run_queue,
    .run_collecting = pq_run_collecting,
    .run_cover_collecting = pq_run_cover_collecting,
    .run_notice_lease = pq_run_notice_lease,
    .run_noticed = pq_run_noticed,
    .run_decide = pq_run_decide,
    .decision_counts = pq_decision_counts,
    .count_status = pq_count_status,
    .move_add = pq_move_add,
    .move_list = pq_move_list,
    .budget_take = pq_budget_take,
    .close = pq_close,
};

/* Runs a utility statement; NULL or the (unscrubbed) error text. */
static const char *exec_simple(PGconn *c, const char *sql, PGresult **keep)
{
    PGresult *r = PQexec(c, sql);
    if (!result_ok(r)) {
        PQclear(r);
        return PQerrorMessage(c);
    }
    if (keep)
        *keep = r;
    else
        PQclear(r);
    return NULL;
}

/* Applies the missing migrations, each in its own transaction, under the advisory lock. */
static const char *migrate(PGconn *c)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)", (long long)MIGRATION_LOCK);
    const char *err = exec_simple(c, sql, NULL);
    if (err)
        return err;
    PGresult *r = NULL;
    err =
        exec_simple(c, "CREATE TABLE IF NOT EXISTS ledger_schema (version integer NOT NULL)", NULL);
    if (!err)
        err = exec_simple(c, "SELECT coalesce(max(version), 0) FROM ledger_schema", &r);
    int v = r ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    if (!err && v > SCHEMA_VERSION)
        err = "the database's ledger schema is newer than this build";
    for (; !err && v < SCHEMA_VERSION; v++) {
        char mark[96];
        snprintf(mark, sizeof mark, "INSERT INTO ledger_schema (version) VALUES (%d)", v + 1);
        if ((err = exec_simple(c, "BEGIN", NULL)) || (err = exec_simple(c, migrations[v], NULL)) ||
            (err = exec_simple(c, mark, NULL)) || (err = exec_simple(c, "COMMIT", NULL)))
            PQclear(PQexec(c, "ROLLBACK"));
    }
    snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", (long long)MIGRATION_LOCK);
    PQclear(PQexec(c, sql));
    return err;
}

/* Server notices ("relation already exists, skipping") are not errors; stderr carries JSON log
 * lines only. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* Reads host, port, database and password out of URL for messages and scrubbing. */
static int describe(pg_ledger *p, const char *url)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    if (!opts)
        return -1;
    const char *host = NULL, *port = NULL, *db = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0 || (!host && strcmp(o->keyword, "hostaddr") == 0))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
        else if (strcmp(o->keyword, "password") == 0 && *o->val)
            p->password = strdup(o->val);
    }
    snprintf(p->where, sizeof p->where, "%s:%s/%s", host ? host : "localhost", port ? port : "5432",
             db ? db : "(default)");
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && strcmp(o->keyword, "password") == 0)
            sodium_memzero(o->val, strlen(o->val));
    PQconninfoFree(opts);
    return 0;
}

ledger_status ledger_pg_open(ledger *l, const char *url, char err[LEDGER_ERR_MAX])
{
    pg_ledger *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: out of memory");
        return LEDGER_ERR_UNAVAILABLE;
    }
    if (describe(p, url) != 0) {
        free(p);
        snprintf(err, LEDGER_ERR_MAX, "ledger: not a valid postgres:// URL");
        return LEDGER_ERR_INVALID;
    }
    l->impl = p;
    /* connect_timeout comes before the URL so the URL may override it. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "retrain-ledger", url, NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    const char *what = NULL, *detail = NULL;
    if (p->conn)
        PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        what = "connect";
        detail = p->conn ? PQerrorMessage(p->conn) : "out of memory";
    } else if ((detail = migrate(p->conn))) {
        what = "schema migration";
    }
    ledger_status st = what ? pg_fail(l, what, detail) : prepare_all(l);
    if (st != LEDGER_OK)
        snprintf(err, LEDGER_ERR_MAX, "%s", l->err);
    if (st != LEDGER_OK) {
        pq_close(l);
        return st;
    }
    l->ops = &pg_ops;
    return LEDGER_OK;
}

/* ledger_sqlite — the ledger in one SQLite file shared by every worker process of a host: its
 * statements and operations (ledger_sqlite_handle.c opens a file into a handle and closes it).
 *
 * Durability: WAL with synchronous=FULL, so a claim or finish that returned has reached the disk
 * and survives a crash or power loss. Concurrency: each write is one statement in autocommit,
 * which SQLite runs as its own write transaction; writers queue on the busy timeout. The claim
 * is a single INSERT ... ON CONFLICT DO UPDATE ... WHERE (the lease expired) ... RETURNING, so
 * two workers can never both take a key. Times are this host's clock (every sharer is on it).
 * Statements are prepared once per handle and reset after each use.
 *
 * The file under the handle (ledger_sqlite_file.h): every operation first checks that the path
 * still names the files the handle holds (a read at most every LEDGER_FILE_CHECK_MS, a write
 * always) and runs inside the SIGBUS guard; every write checks again once SQLite says it is
 * done. A handle that lost its files fails every call; one that faulted is never handed to
 * SQLite again. */
#include "ledger_sqlite_internal.h"
#include "trace.h"

#include <errno.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const sql[S_COUNT] = {
    [S_GET] = "SELECT " LEDGER_COLUMNS " FROM ledger_events WHERE key = ?1",
    [S_UPSERT] = "INSERT INTO ledger_events (key, source, id, type, subject, event_time, status,"
                 " first_seen_ms, last_seen_ms, lease_until_ms, attempts, event_json)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'claimed', ?7, ?7, ?8, 1, ?9)"
                 " ON CONFLICT (key) DO UPDATE SET attempts = attempts + 1,"
                 "  lease_until_ms = excluded.lease_until_ms, last_seen_ms = excluded.last_seen_ms,"
                 "  event_json = coalesce(event_json, excluded.event_json)"
                 " WHERE status = 'claimed' AND lease_until_ms <= excluded.last_seen_ms"
                 " RETURNING " LEDGER_COLUMNS,
    [S_TOUCH] = "UPDATE ledger_events SET last_seen_ms = ?2 WHERE key = ?1 AND last_seen_ms < ?3",
    [S_FINISH] = "UPDATE ledger_events SET status = ?2, outcome = ?3,"
                 " last_error = coalesce(?4, last_error), lease_until_ms = 0"
                 " WHERE key = ?1 AND status = 'claimed' AND attempts = ?5",
    [S_RELEASE] = "UPDATE ledger_events SET lease_until_ms = 0, last_error = ?2"
                  " WHERE key = ?1 AND status = 'claimed' AND attempts = ?3",
    [S_RENEW] = "UPDATE ledger_events SET lease_until_ms = ?2"
                " WHERE key = ?1 AND status = 'claimed' AND attempts = ?3",
    [S_REOPEN] = "UPDATE ledger_events SET status = 'claimed', attempts = attempts + 1,"
                 " lease_until_ms = ?2, run_id = NULL WHERE key = ?1"
                 " AND status IN ('failed', 'expired')",
    [S_LIST] = "SELECT " LEDGER_COLUMNS " FROM ledger_events"
               " WHERE (?1 IS NULL OR status = ?1) AND first_seen_ms >= ?2"
               " AND (?3 IS NULL OR (first_seen_ms, key) >"
               "  ((SELECT first_seen_ms FROM ledger_events WHERE key = ?3), ?3))"
               " AND (?4 IS NULL OR id = ?4) AND (?6 IS NULL OR subject = ?6)"
               " ORDER BY first_seen_ms, key LIMIT ?5",
    [S_GC] = "DELETE FROM ledger_events WHERE status <> 'claimed' AND last_seen_ms < ?1",
    [S_GC_RUN_EVENTS] = "DELETE FROM ledger_run_events WHERE run_id IN (SELECT id FROM ledger_runs"
                        " WHERE" RUN_GC_WHERE("?1") ")",
    [S_GC_RUNS] = "DELETE FROM ledger_runs WHERE" RUN_GC_WHERE("?1"),
    [S_PING] = "SELECT count(*) FROM (SELECT 1 FROM ledger_events LIMIT 1)",
    /* SET reads the row as it was, so the holder's own retry keeps its clock and resource. */
    [S_SLOT_TAKE] = "INSERT INTO ledger_rule_slots (rule, event_key, resource, submitted_ms)"
                    " VALUES (?1, ?2, NULL, ?3)"
                    " ON CONFLICT (rule) DO UPDATE SET"
                    "  resource = CASE WHEN event_key = excluded.event_key THEN resource END,"
                    "  submitted_ms = CASE WHEN event_key = excluded.event_key THEN submitted_ms"
                    "   ELSE excluded.submitted_ms END,"
                    "  event_key = excluded.event_key"
                    " WHERE event_key = excluded.event_key OR event_key = ?5"
                    "  OR submitted_ms + ?4 <= excluded.submitted_ms"
                    " RETURNING " LEDGER_SLOT_COLUMNS ", ?3 - submitted_ms",
    [S_SLOT_GET] = "SELECT " LEDGER_SLOT_COLUMNS ", ?2 - submitted_ms FROM ledger_rule_slots"
                   " WHERE rule = ?1",
    [S_SLOT_SET] = "UPDATE ledger_rule_slots SET resource = ?3, submitted_ms = ?4"
                   " WHERE rule = ?1 AND event_key = ?2",
    [S_SLOT_FREE] = "DELETE FROM ledger_rule_slots WHERE rule = ?1 AND event_key = ?2",
    [S_RUN_NAME] = "UPDATE ledger_events SET run_id = coalesce(run_id, ?2)"
                   " WHERE key = ?1 AND status = 'claimed' AND attempts = ?3 RETURNING run_id",
    [S_RUN_INSERT] =
        "INSERT INTO ledger_runs (id, rule, action, state, queued_ms, updated_ms,"
        " trace) VALUES (?1, ?2, ?3, 'queued', ?4, ?4, ?5) ON CONFLICT (id) DO NOTHING",
    [S_RUN_COVER] = "INSERT INTO ledger_run_events (run_id, event_key) VALUES (?1, ?2)"
                    " ON CONFLICT DO NOTHING",
    [S_RUN_UPDATE] = "UPDATE ledger_runs SET state = ?2, resource = coalesce(?3, resource),"
                     " error_code = coalesce(?4, error_code),"
                     " error_message = coalesce(?5, error_message),"
                     " model_version = coalesce(?6, model_version),"
                     " model_version_id = coalesce(?7, model_version_id),"
                     " submitted_ms = CASE WHEN ?2 = 'submitted' THEN coalesce(submitted_ms, ?8)"
                     "  ELSE submitted_ms END,"
                     " started_ms = CASE WHEN ?2 = 'running' THEN coalesce(started_ms, ?10, ?8)"
                     "  ELSE coalesce(started_ms, ?10) END,"
                     " ended_ms = CASE WHEN ?2 IN ('succeeded', 'failed', 'cancelled')"
                     "  THEN coalesce(ended_ms, ?11, ?8) ELSE ended_ms END,"
                     " notify_state = CASE WHEN ?2 IN ('succeeded', 'failed', 'cancelled')"
                     "  AND state NOT IN ('succeeded', 'failed', 'cancelled') THEN 1"
                     "  ELSE notify_state END,"
                     " collecting = CASE WHEN ?2 = 'queued' THEN collecting ELSE 0 END,"
                     " decision = coalesce(decision, ?12),"
                     " updated_ms = ?8"
                     " WHERE id = ?1 AND instr(?9, ',' || state || ',') > 0",
    [S_RUN_GET] = "SELECT " RUN_COLUMNS " FROM ledger_runs r WHERE r.id = ?1",
    [S_RUN_LIST] = "SELECT " RUN_COLUMNS " FROM ledger_runs r"
                   " WHERE (?1 IS NULL OR r.rule = ?1) AND (?2 IS NULL OR r.state = ?2)"
                   " AND r.queued_ms >= ?3"
                   " AND (?4 IS NULL OR (r.queued_ms, r.id) >"
                   "  ((SELECT queued_ms FROM ledger_runs WHERE id = ?4), ?4))"
                   " AND (?6 = 0 OR (r.batch_key IS NOT NULL AND r.state = 'queued'))"
                   " AND (?7 IS NULL OR substr(r.model_version, 1, length(?7)) = ?7)"
                   " ORDER BY r.queued_ms, r.id LIMIT ?5",
    [S_RUN_EVENTS] = "SELECT event_key FROM ledger_run_events WHERE run_id = ?1"
                     " ORDER BY seq LIMIT ?2",
    [S_RUN_LEASE] =
        "UPDATE ledger_runs SET follower = ?1, follow_until_ms = ?2 + ?3,"
        " collecting = 0"
        " WHERE id = (SELECT id FROM ledger_runs r"
        "  WHERE (((?5 & 1) != 0 AND state IN ('submitted', 'running')"
        "    AND resource IS NOT NULL"
        "    AND coalesce(next_check_ms, submitted_ms + ?4) <= ?2)"
        "   OR ((?5 & 2) != 0 AND state = 'queued' AND next_check_ms <= ?2"
        "    AND " RUN_AFTER_ENDED ")"
        "   OR ((?5 & 4) != 0 AND state = 'succeeded'"
        "    AND decision IN ('pending', 'promoting') AND coalesce(next_check_ms, 0) <= ?2))"
        "  AND follow_until_ms <= ?2"
        "  ORDER BY state <> 'queued', coalesce(next_check_ms, submitted_ms + ?4), id"
        "  LIMIT 1)"
        " RETURNING id",
    [S_RUN_CHECKED] = "UPDATE ledger_runs SET next_check_ms = ?3 + ?4, checks = ?5,"
                      " follower = NULL, follow_until_ms = 0 WHERE id = ?1 AND follower = ?2",
    [S_RUN_END_EVENTS] = "UPDATE ledger_events SET status = ?3, last_error = ?2"
                         " WHERE run_id = ?1 AND status IN ('done', 'coalesced')",
    [S_RUN_COVERING] = "SELECT e.run_id FROM ledger_run_events e JOIN ledger_runs r"
                       " ON r.id = e.run_id WHERE e.event_key = ?1"
                       " AND r.state NOT IN ('failed', 'cancelled') ORDER BY e.seq DESC LIMIT 1",
    [S_BATCH_FIND] = "SELECT id FROM ledger_runs WHERE rule = ?1 AND batch_key = ?2"
                     " AND collecting = 1",
    [S_BATCH_INSERT] = "INSERT INTO ledger_runs (id, rule, action, state, queued_ms, updated_ms,"
                       " collecting, batch_key, trace) VALUES (?1, ?2, ?3, 'queued', ?5, ?5, 1,"
                       " ?4, ?6)"
                       " ON CONFLICT DO NOTHING",
    /* ?3 now, ?4 quiet ms, ?5 max wait ms, ?6 min events, ?7 closes (0 or 1). */
    [S_BATCH_COVER] = "UPDATE ledger_runs SET" RUN_BATCH_COVER_SET(
        "?3", "?4", "?5", "?6",
        "?7") " WHERE id = ?1 AND collecting = 1 AND NOT EXISTS (SELECT 1"
              "  FROM ledger_run_events WHERE run_id = ?1 AND event_key = ?2)"
              " RETURNING batch_size, collecting",
    [S_BATCH_COVER_LIST] = "INSERT INTO ledger_run_events (run_id, event_key) VALUES (?1, ?2)",
    [S_BATCH_CLOSED] = "UPDATE ledger_runs SET batch_closed = ?2, closed_ms = ?3"
                       " WHERE id = ?1 AND batch_closed IS NULL",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_RUN_COUNTS] = RUN_COUNTS_SELECT " LIMIT ?1",
    [S_RUN_DECIDE] =
        "UPDATE ledger_runs SET decision = ?2, decision_json = coalesce(?3, decision_json),"
        " updated_ms = ?5"
        " WHERE id = ?1 AND instr(?4, ',' || coalesce(decision, '') || ',') > 0",
    [S_COUNT_STATUS] = "SELECT count(*) FROM ledger_events WHERE status = ?1",
    [S_DECISION_COUNTS] = "SELECT rule, decision, count(*) FROM ledger_runs"
                          " WHERE decision IS NOT NULL GROUP BY rule, decision"
                          " ORDER BY rule, decision LIMIT ?1",
    [S_MOVE_ADD] = "INSERT INTO ledger_alias_moves (model, alias, from_version, to_version, metric,"
                   " value, run_id, actor, why, at_ms)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_MOVE_LIST] = "SELECT " ALIAS_MOVE_COLUMNS " FROM ledger_alias_moves m"
                    " WHERE (?1 IS NULL OR model = ?1) AND (?2 IS NULL OR alias = ?2)"
                    " AND (?3 = 0 OR seq = (SELECT max(seq) FROM ledger_alias_moves w"
                    "  WHERE w.model = m.model AND w.alias = m.alias))"
                    " ORDER BY seq DESC LIMIT ?4",
    [S_RUN_QUEUE] = "UPDATE ledger_runs SET next_check_ms = ?2 + ?3, updated_ms = ?2"
                    " WHERE id = ?1 AND state = 'queued'",
    [S_RUN_COLLECTING_INSERT] = "INSERT INTO ledger_runs (id, rule, action, state, queued_ms,"
                                " updated_ms, next_check_ms, after_run, collecting, trace)"
                                " VALUES (?1, ?2, ?3, 'queued', ?5, ?5, ?5, ?4, 1, ?6)"
                                " ON CONFLICT DO NOTHING",
    [S_RUN_COLLECTING] = "SELECT id FROM ledger_runs WHERE rule = ?1 AND collecting = 1"
                         " AND batch_key IS NULL",
    [S_RUN_COVER_COLLECTING] = "INSERT INTO ledger_run_events (run_id, event_key)"
                               " SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM ledger_runs"
                               "  WHERE id = ?1 AND collecting = 1) ON CONFLICT DO NOTHING",
    [S_RUN_DUE_NOW] = "UPDATE ledger_runs SET next_check_ms = ?2 WHERE id = ?1"
                      " AND state IN ('submitted', 'running') AND resource IS NOT NULL",
    [S_RUN_NOTICE_LEASE] = "UPDATE ledger_runs SET follower = ?1, follow_until_ms = ?2 + ?3"
                           " WHERE id = (SELECT id FROM ledger_runs WHERE notify_state = 1"
                           "  AND ended_ms >= ?4 AND coalesce(notify_next_ms, 0) <= ?2"
                           "  AND follow_until_ms <= ?2"
                           "  AND coalesce(decision, '') NOT IN ('pending', 'promoting')"
                           "  ORDER BY coalesce(notify_next_ms, ended_ms), id LIMIT 1)"
                           " RETURNING id",
    [S_RUN_NOTICED] = "UPDATE ledger_runs SET notify_state = CASE WHEN ?3 THEN 2 ELSE 1 END,"
                      " notify_tries = ?4, notify_next_ms = ?5 + ?6, follower = NULL,"
                      " follow_until_ms = 0 WHERE id = ?1 AND follower = ?2",
    [S_RUN_COVERS] = "SELECT 1 FROM ledger_run_events WHERE run_id = ?1 AND event_key = ?2",
    /* A refill is counted from at_ms, which moves only when a token is taken. */
    [S_BUDGET_TAKE] = "INSERT INTO ledger_budgets (name, tokens, at_ms) VALUES (?1, ?2 - 1, ?3)"
                      " ON CONFLICT (name) DO UPDATE SET"
                      "  tokens = min(?2, tokens + max(0, ?3 - at_ms) * ?4) - 1, at_ms = ?3"
                      " WHERE min(?2, tokens + max(0, ?3 - at_ms) * ?4) >= 1"
                      " RETURNING tokens",
};

/* The handle's files are gone from its path: it fails every call from now on. */
static ledger_status lose(ledger *l)
{
    sqlite_ledger *s = l->impl;
    l->lost = true;
    return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "%s", s->file.why);
}

/* After a write SQLite reports done: done only if it went into the file at the path. */
static ledger_status written(ledger *l)
{
    sqlite_ledger *s = l->impl;
    return ledger_file_intact(&s->file, true) ? LEDGER_OK : lose(l);
}

static ledger_status db_fail(ledger *l, const char *what)
{
    sqlite_ledger *s = l->impl;
    return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: sqlite %s: %s", what,
                       sqlite3_errmsg(s->db));
}

/* The cached statement I, reset and unbound, ready for binding; NULL after recording an error. */
static sqlite3_stmt *stmt_get(ledger *l, int i)
{
    sqlite_ledger *s = l->impl;
    if (!s->stmt[i] && sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                                          NULL) != SQLITE_OK) {
        db_fail(l, "prepare");
        return NULL;
    }
    sqlite3_reset(s->stmt[i]);
    sqlite3_clear_bindings(s->stmt[i]);
    return s->stmt[i];
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int row_to_record(sqlite3_stmt *st, ledger_record *rec)
{
    const char *cols[LEDGER_NCOLUMNS];
    for (int i = 0; i < LEDGER_NCOLUMNS; i++)
        cols[i] = (const char *)sqlite3_column_text(st, i);
    return ledger_record_fill(rec, cols);
}

/* Runs a write statement with no result rows; *CHANGES gets the rows changed. */
static ledger_status step_done(ledger *l, sqlite3_stmt *st, const char *what, int *changes)
{
    sqlite_ledger *s = l->impl;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(l, what);
    if (changes)
        *changes = sqlite3_changes(s->db);
    return written(l);
}

/* Fills OUT from the one row statement I finds for KEY: LEDGER_ERR_NOT_FOUND when none. */
static ledger_status read_one(ledger *l, int i, const char *key,
                              int (*fill)(sqlite3_stmt *, void *), void *out)
{
    sqlite3_stmt *st = stmt_get(l, i);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    ledger_status res = LEDGER_OK;
    if (rc == SQLITE_ROW) {
        if (fill(st, out) != 0)
            res = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
    } else if (rc == SQLITE_DONE) {
        res = LEDGER_ERR_NOT_FOUND;
    } else {
        res = db_fail(l, "read");
    }
    sqlite3_reset(st);
    return res;
}

static int fill_record(sqlite3_stmt *st, void *rec)
{
    return row_to_record(st, rec);
}

static ledger_status sq_get(ledger *l, const char *key, ledger_record *rec)
{
    memset(rec, 0, sizeof *rec);
    return read_one(l, S_GET, key, fill_record, rec);
}

static ledger_status sq_upsert(ledger *l, const char *key, const ledger_event *ev, int lease_s,
                               ledger_record *rec, bool *taken)
{
    *taken = false;
    memset(rec, 0, sizeof *rec);
    sqlite3_stmt *st = stmt_get(l, S_UPSERT);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    int64_t now = ledger_now_ms();
    bind_text(st, 1, key);
    bind_text(st, 2, ev->source);
    bind_text(st, 3, ev->id);
    bind_text(st, 4, ev->type);
    bind_text(st, 5, ev->subject);
    bind_text(st, 6, ev->event_time);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_int64(st, 8, now + (int64_t)lease_s * 1000);
    bind_text(st, 9, ev->event_json);
    /* Step to the end so the statement's write transaction commits before we answer. */
    ledger_status res = LEDGER_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!*taken && row_to_record(st, rec) != 0)
            res = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
        *taken = true;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE || (res == LEDGER_OK && (res = written(l)) != LEDGER_OK)) {
        ledger_record_clear(rec);
        *taken = false;
        return rc != SQLITE_DONE ? db_fail(l, "claim") : res;
    }
    return res;
}

static ledger_status sq_touch(ledger *l, const char *key)
{
    sqlite3_stmt *st = stmt_get(l, S_TOUCH);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    int64_t now = ledger_now_ms();
    bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now - LEDGER_TOUCH_MS);
    return step_done(l, st, "touch", NULL);
}

static ledger_status changed_or_state(ledger *l, sqlite3_stmt *st, const char *what)
{
    int changes = 0;
    ledger_status res = step_done(l, st, what, &changes);
    if (res == LEDGER_OK && changes == 0)
        return LEDGER_ERR_STATE;
    return res;
}

static ledger_status sq_finish(ledger *l, const ledger_hold *h, const char *status,
                               const char *outcome, const char *error)
{
    sqlite3_stmt *st = stmt_get(l, S_FINISH);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, h->key);
    bind_text(st, 2, status);
    bind_text(st, 3, outcome);
    bind_text(st, 4, error);
    sqlite3_bind_int(st, 5, h->attempt);
    return changed_or_state(l, st, "finish");
}

static ledger_status sq_release(ledger *l, const ledger_hold *h, const char *error)
{
    sqlite3_stmt *st = stmt_get(l, S_RELEASE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, h->key);
    bind_text(st, 2, error);
    sqlite3_bind_int(st, 3, h->attempt);
    return changed_or_state(l, st, "release");
}

static ledger_status sq_renew(ledger *l, const ledger_hold *h, int lease_s)
{
    sqlite3_stmt *st = stmt_get(l, S_RENEW);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, h->key);
    sqlite3_bind_int64(st, 2, ledger_now_ms() + (int64_t)lease_s * 1000);
    sqlite3_bind_int(st, 3, h->attempt);
    return changed_or_state(l, st, "renew");
}

static ledger_status sq_reopen(ledger *l, const char *key, int lease_s)
{
    sqlite3_stmt *st = stmt_get(l, S_REOPEN);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, ledger_now_ms() + (int64_t)lease_s * 1000);
    return changed_or_state(l, st, "reopen");
}

static ledger_status sq_list(ledger *l, const ledger_query *q, ledger_record *recs, size_t cap,
                             size_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_LIST);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, q->status);
    sqlite3_bind_int64(st, 2, q->since_ms);
    bind_text(st, 3, q->after_key);
    bind_text(st, 4, q->id);
    sqlite3_bind_int(st, 5, q->limit);
    bind_text(st, 6, q->subject);
    int rc = SQLITE_DONE;
    while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (row_to_record(st, &recs[*n]) != 0)
            break;
        (*n)++;
    }
    bool failed = *n < cap && rc != SQLITE_DONE;
    sqlite3_reset(st);
    if (failed) {
        for (size_t i = 0; i < *n; i++)
            ledger_record_clear(&recs[i]);
        *n = 0;
        return rc == SQLITE_ROW ? ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory")
                                : db_fail(l, "list");
    }
    return LEDGER_OK;
}

static ledger_status sq_gc(ledger *l, int64_t older_than_s, int64_t *removed)
{
    sqlite3_stmt *st = stmt_get(l, S_GC);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    int64_t cutoff = ledger_now_ms() - older_than_s * 1000;
    sqlite3_bind_int64(st, 1, cutoff);
    int changes = 0;
    ledger_status res = step_done(l, st, "gc", &changes);
    *removed = changes;
    /* Runs that ended as long ago go too, with the list of what they covered. */
    for (int i = S_GC_RUN_EVENTS; res == LEDGER_OK && i <= S_GC_RUNS; i++) {
        if (!(st = stmt_get(l, i)))
            return LEDGER_ERR_UNAVAILABLE;
        sqlite3_bind_int64(st, 1, cutoff);
        res = step_done(l, st, "gc runs", NULL);
    }
    return res;
}

static ledger_status sq_ping(ledger *l)
{
    sqlite3_stmt *st = stmt_get(l, S_PING);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? LEDGER_OK : db_fail(l, "ping");
}

static int row_to_slot(sqlite3_stmt *st, ledger_slot *slot)
{
    const char *cols[4];
    for (int i = 0; i < 4; i++)
        cols[i] = (const char *)sqlite3_column_text(st, i);
    return ledger_slot_fill(slot, cols);
}

static ledger_status sq_slot_take(ledger *l, const char *rule, int min_interval_s,
                                  const char *event_key, const char *replace, ledger_slot *slot,
                                  bool *taken)
{
    *taken = false;
    memset(slot, 0, sizeof *slot);
    sqlite3_stmt *st = stmt_get(l, S_SLOT_TAKE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, rule);
    bind_text(st, 2, event_key);
    sqlite3_bind_int64(st, 3, ledger_now_ms());
    sqlite3_bind_int64(st, 4, (int64_t)min_interval_s * 1000);
    bind_text(st, 5, replace);
    ledger_status res = LEDGER_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!*taken && row_to_slot(st, slot) != 0)
            res = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
        *taken = true;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE || (res == LEDGER_OK && (res = written(l)) != LEDGER_OK)) {
        ledger_slot_clear(slot);
        *taken = false;
        return rc != SQLITE_DONE ? db_fail(l, "rule slot") : res;
    }
    return res;
}

static ledger_status sq_slot_get(ledger *l, const char *rule, ledger_slot *slot)
{
    memset(slot, 0, sizeof *slot);
    sqlite3_stmt *st = stmt_get(l, S_SLOT_GET);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, rule);
    sqlite3_bind_int64(st, 2, ledger_now_ms());
    int rc = sqlite3_step(st);
    ledger_status res = LEDGER_OK;
    if (rc == SQLITE_ROW) {
        if (row_to_slot(st, slot) != 0)
            res = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
    } else if (rc == SQLITE_DONE) {
        res = LEDGER_ERR_NOT_FOUND;
    } else {
        res = db_fail(l, "rule slot read");
    }
    sqlite3_reset(st);
    return res;
}

static ledger_status sq_slot_set_resource(ledger *l, const char *rule, const char *event_key,
                                          const char *resource)
{
    sqlite3_stmt *st = stmt_get(l, S_SLOT_SET);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, rule);
    bind_text(st, 2, event_key);
    bind_text(st, 3, resource);
    sqlite3_bind_int64(st, 4, ledger_now_ms());
    return changed_or_state(l, st, "rule slot resource");
}

static ledger_status sq_slot_free(ledger *l, const char *rule, const char *event_key)
{
    sqlite3_stmt *st = stmt_get(l, S_SLOT_FREE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, rule);
    bind_text(st, 2, event_key);
    return step_done(l, st, "rule slot free", NULL);
}

/* ---- runs ---------------------------------------------------------------------------------- */

/* Steps ST, a write returning a run id into ID: OK, or NONE when it returned no row. */
static ledger_status step_returning_id(ledger *l, sqlite3_stmt *st, ledger_status none,
                                       const char *what, char id[RUN_ID_LEN + 1])
{
    int rc = sqlite3_step(st);
    ledger_status res = none;
    if (rc == SQLITE_ROW) {
        snprintf(id, RUN_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = sqlite3_step(st);
        res = LEDGER_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(l, what);
    return res == LEDGER_OK ? written(l) : res;
}

static ledger_status sq_run_name(ledger *l, const ledger_hold *h, const char *new_id,
                                 char id[RUN_ID_LEN + 1])
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_NAME);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, h->key);
    bind_text(st, 2, new_id);
    sqlite3_bind_int(st, 3, h->attempt);
    return step_returning_id(l, st, LEDGER_ERR_STATE, "run name", id);
}

static ledger_status sq_run_insert(ledger *l, const char *id, const char *rule, const char *action,
                                   const char *event_key)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_INSERT);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, rule);
    bind_text(st, 3, action);
    sqlite3_bind_int64(st, 4, ledger_now_ms());
    bind_text(st, 5, trace_header());
    ledger_status res = step_done(l, st, "run insert", NULL);
    if (res != LEDGER_OK || !(st = stmt_get(l, S_RUN_COVER)))
        return res != LEDGER_OK ? res : LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, event_key);
    return step_done(l, st, "run events", NULL);
}

static void bind_nonzero(sqlite3_stmt *st, int i, int v)
{
    if (v)
        sqlite3_bind_int(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static ledger_status sq_run_update(ledger *l, const char *id, const run_change *ch,
                                   const char *state, const char *from)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_UPDATE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, state);
    bind_text(st, 3, ch->resource);
    bind_nonzero(st, 4, ch->error_code);
    bind_text(st, 5, ch->error_message);
    bind_text(st, 6, ch->model_version);
    bind_text(st, 7, ch->model_version_id);
    sqlite3_bind_int64(st, 8, ledger_now_ms());
    bind_text(st, 9, from);
    if (ch->started_ms > 0)
        sqlite3_bind_int64(st, 10, ch->started_ms);
    if (ch->ended_ms > 0)
        sqlite3_bind_int64(st, 11, ch->ended_ms);
    bind_text(st, 12, ch->decision);
    return changed_or_state(l, st, "run update");
}

static int row_to_run(sqlite3_stmt *st, run_record *run)
{
    const char *cols[RUN_NCOLUMNS];
    for (int i = 0; i < RUN_NCOLUMNS; i++)
        cols[i] = (const char *)sqlite3_column_text(st, i);
    return run_record_fill(run, cols);
}

static int fill_run(sqlite3_stmt *st, void *run)
{
    return row_to_run(st, run);
}

static ledger_status sq_run_get(ledger *l, const char *id, run_record *run)
{
    memset(run, 0, sizeof *run);
    ledger_status res = read_one(l, S_RUN_GET, id, fill_run, run);
    return res == LEDGER_ERR_NOT_FOUND ? ledger_fail(l, res, "runs: no run %s", id) : res;
}

static ledger_status sq_run_list(ledger *l, const run_query *q, run_record *runs, size_t cap,
                                 size_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_LIST);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, q->rule);
    bind_text(st, 2, q->state >= 0 ? run_state_name((run_state)q->state) : NULL);
    sqlite3_bind_int64(st, 3, q->since_ms);
    bind_text(st, 4, q->after_id);
    sqlite3_bind_int(st, 5, q->limit);
    sqlite3_bind_int(st, 6, q->open_batches ? 1 : 0);
    bind_text(st, 7, q->model);
    int rc = SQLITE_DONE;
    while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (row_to_run(st, &runs[*n]) != 0) {
            sqlite3_reset(st);
            return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
        }
        (*n)++;
    }
    sqlite3_reset(st);
    if (*n < cap && rc != SQLITE_DONE) {
        while (*n > 0)
            run_record_clear(&runs[--*n]);
        return db_fail(l, "run list");
    }
    return LEDGER_OK;
}

static ledger_status sq_run_events(ledger *l, const char *id, char (*keys)[LEDGER_KEY_HEX + 1],
                                   size_t cap, size_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_EVENTS);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
    int rc = SQLITE_DONE;
    while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW)
        snprintf(keys[(*n)++], LEDGER_KEY_HEX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (*n < cap && rc != SQLITE_DONE) {
        *n = 0;
        return db_fail(l, "run events");
    }
    return LEDGER_OK;
}

static ledger_status sq_run_lease(ledger *l, const char *owner, int64_t lease_ms, int64_t first_ms,
                                  int kinds, char id[RUN_ID_LEN + 1])
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_LEASE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, owner);
    sqlite3_bind_int64(st, 2, ledger_now_ms());
    sqlite3_bind_int64(st, 3, lease_ms);
    sqlite3_bind_int64(st, 4, first_ms);
    sqlite3_bind_int(st, 5, kinds);
    return step_returning_id(l, st, LEDGER_ERR_NOT_FOUND, "run lease", id);
}

static ledger_status sq_run_checked(ledger *l, const char *id, const char *owner, int64_t delay_ms,
                                    int checks)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_CHECKED);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, owner);
    sqlite3_bind_int64(st, 3, ledger_now_ms());
    sqlite3_bind_int64(st, 4, delay_ms);
    sqlite3_bind_int(st, 5, checks);
    return changed_or_state(l, st, "run checked");
}

static ledger_status sq_run_end_events(ledger *l, const char *id, const char *status,
                                       const char *error, int64_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_END_EVENTS);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, error);
    bind_text(st, 3, status);
    int changes = 0;
    ledger_status res = step_done(l, st, "run events ended", &changes);
    *n = changes;
    return res;
}

static ledger_status sq_run_covering(ledger *l, const char *event_key, char id[RUN_ID_LEN + 1])
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_COVERING);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, event_key);
    return step_returning_id(l, st, LEDGER_ERR_NOT_FOUND, "run covering", id);
}

static ledger_status sq_run_batch_open(ledger *l, const char *rule, const char *action,
                                       const char *key, const char *new_id, char id[RUN_ID_LEN + 1])
{
    for (int pass = 0; pass < 2; pass++) { /* read; else insert and read again */
        sqlite3_stmt *st = stmt_get(l, S_BATCH_FIND);
        if (!st)
            return LEDGER_ERR_UNAVAILABLE;
        bind_text(st, 1, rule);
        bind_text(st, 2, key);
        ledger_status res = step_returning_id(l, st, LEDGER_ERR_NOT_FOUND, "batch find", id);
        if (res != LEDGER_ERR_NOT_FOUND || pass == 1)
            return res;
        if (!(st = stmt_get(l, S_BATCH_INSERT)))
            return LEDGER_ERR_UNAVAILABLE;
        bind_text(st, 1, new_id);
        bind_text(st, 2, rule);
        bind_text(st, 3, action);
        bind_text(st, 4, key);
        sqlite3_bind_int64(st, 5, ledger_now_ms());
        bind_text(st, 6, trace_header());
        if ((res = step_done(l, st, "batch insert", NULL)) != LEDGER_OK)
            return res;
    }
    return LEDGER_ERR_NOT_FOUND;
}

/* Runs statement I alone (BEGIN, COMMIT, ROLLBACK). */
static ledger_status exec_stmt(ledger *l, int i, const char *what)
{
    sqlite3_stmt *st = stmt_get(l, i);
    return st ? step_done(l, st, what, NULL) : LEDGER_ERR_UNAVAILABLE;
}

/* The count and the list change in one transaction: a crash between them would count the
 * event twice on its retry. */
static ledger_status sq_run_batch_cover(ledger *l, const char *id, const char *event_key,
                                        const runs_batch_terms *t, int *size, bool *closed)
{
    *size = 0;
    *closed = false;
    ledger_status res = exec_stmt(l, S_BEGIN, "batch begin");
    if (res != LEDGER_OK)
        return res;
    sqlite3_stmt *st = stmt_get(l, S_BATCH_COVER);
    if (!st) {
        exec_stmt(l, S_ROLLBACK, "batch rollback");
        return LEDGER_ERR_UNAVAILABLE;
    }
    bind_text(st, 1, id);
    bind_text(st, 2, event_key);
    sqlite3_bind_int64(st, 3, ledger_now_ms());
    sqlite3_bind_int64(st, 4, (sqlite3_int64)t->quiet_period_s * 1000);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)t->max_wait_s * 1000);
    sqlite3_bind_int(st, 6, t->min_events);
    sqlite3_bind_int(st, 7, t->closes ? 1 : 0);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *size = sqlite3_column_int(st, 0);
        *closed = sqlite3_column_int(st, 1) == 0;
        rc = sqlite3_step(st);
    }
    bool changed = *size > 0;
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        res = db_fail(l, "batch cover");
    else if (!changed)
        res = LEDGER_ERR_NOT_FOUND;
    else if (!(st = stmt_get(l, S_BATCH_COVER_LIST)))
        res = LEDGER_ERR_UNAVAILABLE;
    else {
        bind_text(st, 1, id);
        bind_text(st, 2, event_key);
        res = step_done(l, st, "batch cover", NULL);
    }
    if (res == LEDGER_OK)
        res = exec_stmt(l, S_COMMIT, "batch commit");
    if (res != LEDGER_OK) {
        exec_stmt(l, S_ROLLBACK, "batch rollback");
        *size = 0;
        *closed = false;
    }
    return res;
}

static ledger_status sq_run_batch_closed(ledger *l, const char *id, const char *why,
                                         int64_t closed_ms)
{
    sqlite3_stmt *st = stmt_get(l, S_BATCH_CLOSED);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, why);
    sqlite3_bind_int64(st, 3, closed_ms);
    return step_done(l, st, "batch closed", NULL);
}

static ledger_status sq_run_queue(ledger *l, const char *id, int64_t delay_ms)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_QUEUE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, ledger_now_ms());
    sqlite3_bind_int64(st, 3, delay_ms);
    return changed_or_state(l, st, "run queue");
}

static ledger_status sq_run_collecting(ledger *l, const char *rule, const char *action,
                                       const char *after, const char *new_id,
                                       char id[RUN_ID_LEN + 1])
{
    /* Most joins find the follow-up there: a read, no write lock. */
    sqlite3_stmt *st = stmt_get(l, S_RUN_COLLECTING);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, rule);
    ledger_status res = step_returning_id(l, st, LEDGER_ERR_NOT_FOUND, "run collecting", id);
    if (res != LEDGER_ERR_NOT_FOUND)
        return res;
    if (!(st = stmt_get(l, S_RUN_COLLECTING_INSERT)))
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, new_id);
    bind_text(st, 2, rule);
    bind_text(st, 3, action);
    bind_text(st, 4, after);
    sqlite3_bind_int64(st, 5, ledger_now_ms());
    bind_text(st, 6, trace_header());
    int made = 0;
    res = step_done(l, st, "run collecting", &made);
    if (res == LEDGER_OK && made > 0 && (st = stmt_get(l, S_RUN_DUE_NOW))) {
        bind_text(st, 1, after);
        sqlite3_bind_int64(st, 2, ledger_now_ms());
        res = step_done(l, st, "run due now", NULL);
    }
    if (res != LEDGER_OK || !(st = stmt_get(l, S_RUN_COLLECTING)))
        return res != LEDGER_OK ? res : LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, rule);
    return step_returning_id(l, st, LEDGER_ERR_NOT_FOUND, "run collecting", id);
}

static ledger_status sq_run_cover_collecting(ledger *l, const char *id, const char *event_key,
                                             bool *covered)
{
    *covered = false;
    sqlite3_stmt *st = stmt_get(l, S_RUN_COVER_COLLECTING);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, event_key);
    int changes = 0;
    ledger_status res = step_done(l, st, "run cover", &changes);
    if (res != LEDGER_OK || changes > 0) {
        *covered = changes > 0;
        return res;
    }
    if (!(st = stmt_get(l, S_RUN_COVERS)))
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, event_key);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(l, "run covers");
    *covered = rc == SQLITE_ROW;
    return LEDGER_OK;
}

static ledger_status sq_run_notice_lease(ledger *l, const char *owner, int64_t lease_ms,
                                         int64_t since_ms, char id[RUN_ID_LEN + 1])
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_NOTICE_LEASE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, owner);
    sqlite3_bind_int64(st, 2, ledger_now_ms());
    sqlite3_bind_int64(st, 3, lease_ms);
    sqlite3_bind_int64(st, 4, since_ms);
    return step_returning_id(l, st, LEDGER_ERR_NOT_FOUND, "run notice lease", id);
}

static ledger_status sq_run_noticed(ledger *l, const char *id, const char *owner, bool sent,
                                    int tries, int64_t delay_ms)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_NOTICED);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, owner);
    sqlite3_bind_int(st, 3, sent);
    sqlite3_bind_int(st, 4, tries);
    sqlite3_bind_int64(st, 5, ledger_now_ms());
    sqlite3_bind_int64(st, 6, delay_ms);
    return changed_or_state(l, st, "run noticed");
}

static ledger_status sq_run_counts(ledger *l, run_count *counts, size_t cap, size_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_COUNTS);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cap);
    int rc = SQLITE_DONE;
    while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cols[RUN_COUNTS_NCOLUMNS];
        for (int i = 0; i < RUN_COUNTS_NCOLUMNS; i++)
            cols[i] = (const char *)sqlite3_column_text(st, i);
        run_count_fill(&counts[(*n)++], cols);
    }
    sqlite3_reset(st);
    if (*n < cap && rc != SQLITE_DONE) {
        *n = 0;
        return db_fail(l, "run counts");
    }
    return LEDGER_OK;
}

static ledger_status sq_run_decide(ledger *l, const char *id, const char *decision,
                                   const char *details, const char *from)
{
    sqlite3_stmt *st = stmt_get(l, S_RUN_DECIDE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, id);
    bind_text(st, 2, decision);
    bind_text(st, 3, details);
    bind_text(st, 4, from);
    sqlite3_bind_int64(st, 5, ledger_now_ms());
    return changed_or_state(l, st, "run decide");
}

static ledger_status sq_count_status(ledger *l, const char *status, int64_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_COUNT_STATUS);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? LEDGER_OK : db_fail(l, "status count");
}

static ledger_status sq_decision_counts(ledger *l, decision_count *counts, size_t cap, size_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_DECISION_COUNTS);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cap);
    int rc = SQLITE_DONE;
    while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        decision_count *c = &counts[(*n)++];
        snprintf(c->rule, sizeof c->rule, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(c->decision, sizeof c->decision, "%s", (const char *)sqlite3_column_text(st, 1));
        c->count = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (*n < cap && rc != SQLITE_DONE) {
        *n = 0;
        return db_fail(l, "decision counts");
    }
    return LEDGER_OK;
}

static ledger_status sq_move_add(ledger *l, const alias_move *m)
{
    sqlite3_stmt *st = stmt_get(l, S_MOVE_ADD);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, m->model);
    bind_text(st, 2, m->alias);
    bind_text(st, 3, m->from_version);
    bind_text(st, 4, m->to_version);
    bind_text(st, 5, m->metric);
    if (m->has_value)
        sqlite3_bind_double(st, 6, m->value);
    else
        sqlite3_bind_null(st, 6);
    bind_text(st, 7, m->run_id);
    bind_text(st, 8, m->by);
    bind_text(st, 9, m->why);
    sqlite3_bind_int64(st, 10, ledger_now_ms());
    return step_done(l, st, "alias move", NULL);
}

static ledger_status sq_move_list(ledger *l, const alias_move_query *q, alias_move *out, size_t cap,
                                  size_t *n)
{
    sqlite3_stmt *st = stmt_get(l, S_MOVE_LIST);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, q->model);
    bind_text(st, 2, q->alias);
    sqlite3_bind_int(st, 3, q->latest ? 1 : 0);
    sqlite3_bind_int(st, 4, q->limit);
    int rc = SQLITE_DONE;
    while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cols[ALIAS_MOVE_NCOLUMNS];
        for (int i = 0; i < ALIAS_MOVE_NCOLUMNS; i++)
            cols[i] = (const char *)sqlite3_column_text(st, i);
        if (alias_move_fill(&out[*n], cols) != 0) {
            sqlite3_reset(st);
            while (*n > 0)
                alias_move_clear(&out[--*n]);
            return ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
        }
        (*n)++;
    }
    sqlite3_reset(st);
    if (*n < cap && rc != SQLITE_DONE) {
        while (*n > 0)
            alias_move_clear(&out[--*n]);
        return db_fail(l, "alias moves");
    }
    return LEDGER_OK;
}

static ledger_status sq_budget_take(ledger *l, const char *name, double capacity, double per_ms,
                                    bool *granted)
{
    sqlite3_stmt *st = stmt_get(l, S_BUDGET_TAKE);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, name);
    sqlite3_bind_double(st, 2, capacity);
    sqlite3_bind_int64(st, 3, ledger_now_ms());
    sqlite3_bind_double(st, 4, per_ms);
    int rc = sqlite3_step(st);
    *granted = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        *granted = false;
        return db_fail(l, "budget");
    }
    return written(l);
}

/* ---- every operation under the file checks and the guard -------------------------------- */

/* A fault inside SQLite: the call is abandoned where it stood, and the handle with it. */
static ledger_status faulted(ledger *l)
{
    sqlite_ledger *s = l->impl;
    s->faulted = true;
    s->file.lost = true;
    snprintf(s->file.why, sizeof s->file.why,
             "ledger: sqlite faulted (SIGBUS) on its mapping of %s: the file was truncated or "
             "rewritten under this process",
             s->file.paths[2] ? s->file.paths[2] : "the -shm file");
    return lose(l);
}

/* Whether a call may go to SQLite: the handle's files still at its path, and no fault in this
 * process (another handle's abandoned call may hold a lock this one would wait on forever). A
 * write checks its files whatever the interval: one that went in with a stale wal-index would
 * overwrite what newer connections committed through the new one. */
static ledger_status ready(ledger *l, bool write)
{
    sqlite_ledger *s = l->impl;
    if (!l->lost && ledger_file_faulted() > 0) {
        s->file.lost = true;
        snprintf(s->file.why, sizeof s->file.why,
                 "ledger: sqlite faulted in this process before: it must start afresh");
    }
    if (l->lost || !ledger_file_intact(&s->file, write))
        return lose(l);
    return LEDGER_OK;
}

/* Defines OP as RAW (same parameters, ARGS naming them; WRITE: whether it writes) run by the
 * rules above. */
#define GUARDED(op, raw, write, params, args)                                                      \
    static ledger_status op params                                                                 \
    {                                                                                              \
        ledger_status st = ready(l, write);                                                        \
        if (st != LEDGER_OK)                                                                       \
            return st;                                                                             \
        sigjmp_buf jb;                                                                             \
        sigjmp_buf *volatile outer = NULL;                                                         \
        if (sigsetjmp(jb, 0) == 0) {                                                               \
            outer = ledger_file_guard_arm(&jb);                                                    \
            st = raw args;                                                                         \
        } else {                                                                                   \
            st = faulted(l);                                                                       \
        }                                                                                          \
        ledger_file_guard_disarm(outer);                                                           \
        return st;                                                                                 \
    }

GUARDED(g_get, sq_get, false, (ledger * l, const char *key, ledger_record *rec), (l, key, rec))
GUARDED(g_upsert, sq_upsert, true,
        (ledger * l, const char *key, const ledger_event *ev, int lease_s, ledger_record *rec,
         bool *taken),
        (l, key, ev, lease_s, rec, taken))
GUARDED(g_touch, sq_touch, true, (ledger * l, const char *key), (l, key))
GUARDED(g_finish, sq_finish, true,
        (ledger * l, const ledger_hold *h, const char *status, const char *outcome,
         const char *error),
        (l, h, status, outcome, error))
GUARDED(g_release, sq_release, true, (ledger * l, const ledger_hold *h, const char *error),
        (l, h, error))
GUARDED(g_renew, sq_renew, true, (ledger * l, const ledger_hold *h, int lease_s), (l, h, lease_s))
GUARDED(g_reopen, sq_reopen, true, (ledger * l, const char *key, int lease_s), (l, key, lease_s))
GUARDED(g_list, sq_list, false,
        (ledger * l, const ledger_query *q, ledger_record *recs, size_t cap, size_t *n),
        (l, q, recs, cap, n))
GUARDED(g_gc, sq_gc, true, (ledger * l, int64_t older_than_s, int64_t *removed),
        (l, older_than_s, removed))
GUARDED(g_ping, sq_ping, false, (ledger * l), (l))
GUARDED(g_slot_take, sq_slot_take, true,
        (ledger * l, const char *rule, int min_interval_s, const char *event_key,
         const char *replace, ledger_slot *slot, bool *taken),
        (l, rule, min_interval_s, event_key, replace, slot, taken))
GUARDED(g_slot_get, sq_slot_get, false, (ledger * l, const char *rule, ledger_slot *slot),
        (l, rule, slot))
GUARDED(g_slot_set_resource, sq_slot_set_resource, true,
        (ledger * l, const char *rule, const char *event_key, const char *resource),
        (l, rule, event_key, resource))
GUARDED(g_slot_free, sq_slot_free, true, (ledger * l, const char *rule, const char *event_key),
        (l, rule, event_key))
GUARDED(g_run_name, sq_run_name, true,
        (ledger * l, const ledger_hold *h, const char *new_id, char id[RUN_ID_LEN + 1]),
        (l, h, new_id, id))
GUARDED(g_run_insert, sq_run_insert, true,
        (ledger * l, const char *id, const char *rule, const char *action, const char *event_key),
        (l, id, rule, action, event_key))
GUARDED(g_run_update, sq_run_update, true,
        (ledger * l, const char *id, const run_change *ch, const char *state, const char *from),
        (l, id, ch, state, from))
GUARDED(g_run_get, sq_run_get, false, (ledger * l, const char *id, run_record *run), (l, id, run))
GUARDED(g_run_list, sq_run_list, false,
        (ledger * l, const run_query *q, run_record *runs, size_t cap, size_t *n),
        (l, q, runs, cap, n))
GUARDED(g_run_events, sq_run_events, false,
        (ledger * l, const char *id, char (*keys)[LEDGER_KEY_HEX + 1], size_t cap, size_t *n),
        (l, id, keys, cap, n))

GUARDED(g_run_lease, sq_run_lease, true,
        (ledger * l, const char *owner, int64_t lease_ms, int64_t first_ms, int kinds,
         char id[RUN_ID_LEN + 1]),
        (l, owner, lease_ms, first_ms, kinds, id))
GUARDED(g_run_checked, sq_run_checked, true,
        (ledger * l, const char *id, const char *owner, int64_t delay_ms, int checks),
        (l, id, owner, delay_ms, checks))
GUARDED(g_run_end_events, sq_run_end_events, true,
        (ledger * l, const char *id, const char *status, const char *error, int64_t *n),
        (l, id, status, error, n))
GUARDED(g_run_covering, sq_run_covering, false,
        (ledger * l, const char *event_key, char id[RUN_ID_LEN + 1]), (l, event_key, id))
GUARDED(g_run_batch_open, sq_run_batch_open, true,
        (ledger * l, const char *rule, const char *action, const char *key, const char *new_id,
         char id[RUN_ID_LEN + 1]),
        (l, rule, action, key, new_id, id))
GUARDED(g_run_batch_cover, sq_run_batch_cover, true,
        (ledger * l, const char *id, const char *event_key, const runs_batch_terms *t, int *size,
         bool *closed),
        (l, id, event_key, t, size, closed))
GUARDED(g_run_batch_closed, sq_run_batch_closed, true,
        (ledger * l, const char *id, const char *why, int64_t closed_ms), (l, id, why, closed_ms))
GUARDED(g_run_counts, sq_run_counts, false, (ledger * l, run_count *counts, size_t cap, size_t *n),
        (l, counts, cap, n))
GUARDED(g_run_queue, sq_run_queue, true, (ledger * l, const char *id, int64_t delay_ms),
        (l, id, delay_ms))
GUARDED(g_run_collecting, sq_run_collecting, true,
        (ledger * l, const char *rule, const char *action, const char *after, const char *new_id,
         char id[RUN_ID_LEN + 1]),
        (l, rule, action, after, new_id, id))
GUARDED(g_run_cover_collecting, sq_run_cover_collecting, true,
        (ledger * l, const char *id, const char *event_key, bool *covered),
        (l, id, event_key, covered))
GUARDED(g_run_notice_lease, sq_run_notice_lease, true,
        (ledger * l, const char *owner, int64_t lease_ms, int64_t since_ms,
         char id[RUN_ID_LEN + 1]),
        (l, owner, lease_ms, since_ms, id))
GUARDED(g_run_noticed, sq_run_noticed, true,
        (ledger * l, const char *id, const char *owner, bool sent, int tries, int64_t delay_ms),
        (l, id, owner, sent, tries, delay_ms))
GUARDED(g_budget_take, sq_budget_take, true,
        (ledger * l, const char *name, double capacity, double per_ms, bool *granted),
        (l, name, capacity, per_ms, granted))
GUARDED(g_run_decide, sq_run_decide, true,
        (ledger * l, const char *id, const char *decision, const char *details, const char *from),
        (l, id, decision, details, from))
GUARDED(g_count_status, sq_count_status, false, (ledger * l, const char *status, int64_t *n),
        (l, status, n))
GUARDED(g_decision_counts, sq_decision_counts, false,
        (ledger * l, decision_count *counts, size_t cap, size_t *n), (l, counts, cap, n))
GUARDED(g_move_add, sq_move_add, true, (ledger * l, const alias_move *m), (l, m))
GUARDED(g_move_list, sq_move_list, false,
        (ledger * l, const alias_move_query *q, alias_move *out, size_t cap, size_t *n),
        (l, q, out, cap, n))

static void sq_close(ledger *l)
{
    sqlite_ledger *s = l->impl;
    if (!s)
        return;
    ledger_sqlite_close_handle(s);
    l->impl = NULL;
}

bool ledger_sqlite_faulted(void)
{
    return ledger_file_faulted() > 0;
}

const ledger_ops ledger_sqlite_ops = {
    .name = "sqlite",
    .local_clock = true,
    .get = g_get,
    .upsert = g_upsert,
    .touch = g_touch,
    .finish = g_finish,
    .release = g_release,
    .renew = g_renew,
    .reopen = g_reopen,
    .list = g_list,
    .gc = g_gc,
    .ping = g_ping,
    .slot_take = g_slot_take,
    .slot_get = g_slot_get,
    .slot_set_resource = g_slot_set_resource,
    .slot_free = g_slot_free,
    .run_name = g_run_name,
    .run_insert = g_run_insert,
    .run_update = g_run_update,
    .run_get = g_run_get,
    .run_list = g_run_list,
    .run_events = g_run_events,
    .run_lease = g_run_lease,
    .run_checked = g_run_checked,
    .run_end_events = g_run_end_events,
    .run_covering = g_run_covering,
    .run_batch_open = g_run_batch_open,
    .run_batch_cover = g_run_batch_cover,
    .run_batch_closed = g_run_batch_closed,
    .run_counts = g_run_counts,
    .run_queue = g_run_queue,
    .run_collecting = g_run_collecting,
    .run_cover_collecting = g_run_cover_collecting,
    .run_notice_lease = g_run_notice_lease,
    .run_noticed = g_run_noticed,
    .run_decide = g_run_decide,
    .decision_counts = g_decision_counts,
    .count_status = g_count_status,
    .move_add = g_move_add,
    .move_list = g_move_list,
    .budget_take = g_budget_take,
    .close = sq_close,
};

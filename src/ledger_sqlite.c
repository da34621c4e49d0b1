/* ledger_sqlite — the ledger in one SQLite file shared by every worker process of a host.
 *
 * Durability: WAL with synchronous=FULL, so a claim or finish that returned has reached the disk
 * and survives a crash or power loss. Concurrency: each write is one statement in autocommit,
 * which SQLite runs as its own write transaction; writers queue on the busy timeout. The claim
 * is a single INSERT ... ON CONFLICT DO UPDATE ... WHERE (the lease expired) ... RETURNING, so
 * two workers can never both take a key. Times are this host's clock (every sharer is on it).
 *
 * The schema version is PRAGMA user_version; migrations run at open inside BEGIN IMMEDIATE so
 * that many workers starting at once apply each one exactly once. Statements are prepared once
 * per handle and reset after each use. A handle belongs to one process: open it after fork. */
#include "ledger_backend.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

static const char *const migrations[] = {
    "CREATE TABLE ledger_events ("
    " key TEXT PRIMARY KEY,"
    " source TEXT NOT NULL, id TEXT NOT NULL, type TEXT, subject TEXT, event_time TEXT,"
    " status TEXT NOT NULL CHECK (status IN"
    "  ('claimed', 'done', 'failed', 'coalesced', 'ignored')),"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
    " lease_until_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,"
    " last_error TEXT, outcome TEXT, event_json TEXT) WITHOUT ROWID;"
    "CREATE INDEX ledger_events_first_seen ON ledger_events (first_seen_ms, key);"
    "CREATE INDEX ledger_events_status ON ledger_events (status, last_seen_ms);"
    "CREATE INDEX ledger_events_id ON ledger_events (id);",
    "CREATE TABLE ledger_rule_slots ("
    " rule TEXT PRIMARY KEY, event_key TEXT NOT NULL, resource TEXT,"
    " submitted_ms INTEGER NOT NULL) WITHOUT ROWID;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum {
    S_GET,
    S_UPSERT,
    S_TOUCH,
    S_FINISH,
    S_RELEASE,
    S_RENEW,
    S_REOPEN,
    S_LIST,
    S_GC,
    S_PING,
    S_SLOT_TAKE,
    S_SLOT_GET,
    S_SLOT_SET,
    S_SLOT_FREE,
    S_COUNT
};

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
                 " lease_until_ms = ?2 WHERE key = ?1 AND status = 'failed'",
    [S_LIST] = "SELECT " LEDGER_COLUMNS " FROM ledger_events"
               " WHERE (?1 IS NULL OR status = ?1) AND first_seen_ms >= ?2"
               " AND (?3 IS NULL OR (first_seen_ms, key) >"
               "  ((SELECT first_seen_ms FROM ledger_events WHERE key = ?3), ?3))"
               " AND (?4 IS NULL OR id = ?4)"
               " ORDER BY first_seen_ms, key LIMIT ?5",
    [S_GC] = "DELETE FROM ledger_events WHERE status <> 'claimed' AND last_seen_ms < ?1",
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
};

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    int64_t busy_since_ms; /* when the current wait for the write lock began */
} sqlite_ledger;

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
    return LEDGER_OK;
}

static ledger_status sq_get(ledger *l, const char *key, ledger_record *rec)
{
    memset(rec, 0, sizeof *rec);
    sqlite3_stmt *st = stmt_get(l, S_GET);
    if (!st)
        return LEDGER_ERR_UNAVAILABLE;
    bind_text(st, 1, key);
    int rc = sqlite3_step(st);
    ledger_status res = LEDGER_OK;
    if (rc == SQLITE_ROW) {
        if (row_to_record(st, rec) != 0)
            res = ledger_fail(l, LEDGER_ERR_UNAVAILABLE, "ledger: out of memory");
    } else if (rc == SQLITE_DONE) {
        res = LEDGER_ERR_NOT_FOUND;
    } else {
        res = db_fail(l, "read");
    }
    sqlite3_reset(st);
    return res;
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
    if (rc != SQLITE_DONE) {
        ledger_record_clear(rec);
        *taken = false;
        return db_fail(l, "claim");
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
    sqlite3_bind_int64(st, 1, ledger_now_ms() - older_than_s * 1000);
    int changes = 0;
    ledger_status res = step_done(l, st, "gc", &changes);
    *removed = changes;
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
    if (rc != SQLITE_DONE) {
        ledger_slot_clear(slot);
        *taken = false;
        return db_fail(l, "rule slot");
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

static void sq_close(ledger *l)
{
    sqlite_ledger *s = l->impl;
    if (!s)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s);
    l->impl = NULL;
}

static const ledger_ops sqlite_ops = {
    .name = "sqlite",
    .local_clock = true,
    .get = sq_get,
    .upsert = sq_upsert,
    .touch = sq_touch,
    .finish = sq_finish,
    .release = sq_release,
    .renew = sq_renew,
    .reopen = sq_reopen,
    .list = sq_list,
    .gc = sq_gc,
    .ping = sq_ping,
    .slot_take = sq_slot_take,
    .slot_get = sq_slot_get,
    .slot_set_resource = sq_slot_set_resource,
    .slot_free = sq_slot_free,
    .close = sq_close,
};

/* mkdir -p of PATH's parent directory. */
static int make_parent(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            free(dir);
            return -1;
        }
        *p = '/';
    }
    int rc = (*dir && mkdir(dir, 0750) != 0 && errno != EEXIST) ? -1 : 0;
    free(dir);
    return rc;
}

/* Waits for another writer in short steps: a commit takes one fsync (a few ms), and SQLite's
 * own busy timeout sleeps in growing steps up to 100 ms, which leaves the lock idle under
 * contention. Gives up after BUSY_TIMEOUT_MS. */
static int busy_wait(void *arg, int count)
{
    int64_t *since = arg;
    if (count == 0)
        *since = ledger_now_ms();
    else if (ledger_now_ms() - *since > BUSY_TIMEOUT_MS)
        return 0;
    usleep(count < 10 ? 200 : 1000);
    return 1;
}

/* Switching a fresh file to WAL needs a moment alone with it; workers starting together wait. */
static int exec_patient(sqlite3 *db, const char *stmt)
{
    int rc = SQLITE_BUSY;
    for (int i = 0; i < 100 && (rc = sqlite3_exec(db, stmt, NULL, NULL, NULL)) == SQLITE_BUSY; i++)
        usleep(20000);
    return rc;
}

static int user_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static const char *migrate(sqlite3 *db)
{
    if (exec_patient(db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return "begin";
    int v = 0;
    if (user_version(db, &v) != 0)
        goto fail;
    if (v > SCHEMA_VERSION) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return "the file's schema is newer than this build";
    }
    for (; v < SCHEMA_VERSION; v++)
        if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version = %d", SCHEMA_VERSION);
    if (sqlite3_exec(db, set, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    return NULL;
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return "migration";
}

ledger_status ledger_sqlite_open(ledger *l, const char *url, char err[LEDGER_ERR_MAX])
{
    const char *path = url + strlen("sqlite://");
    if (path[0] != '/' || path[1] == '\0' || strchr(path, '?')) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: sqlite URL must be sqlite:///absolute/path");
        return LEDGER_ERR_INVALID;
    }
    if (make_parent(path) != 0) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: cannot create the directory of %s: %s", path,
                 strerror(errno));
        return LEDGER_ERR_UNAVAILABLE;
    }
    sqlite_ledger *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: out of memory");
        return LEDGER_ERR_UNAVAILABLE;
    }
    const char *failed = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
        failed = "open";
    else if (sqlite3_busy_handler(s->db, busy_wait, &s->busy_since_ms) != SQLITE_OK ||
             exec_patient(s->db, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
             sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
        failed = "setup";
    else
        failed = migrate(s->db);
    if (failed) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: sqlite %s of %s failed: %s", failed, path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        return LEDGER_ERR_UNAVAILABLE;
    }
    l->ops = &sqlite_ops;
    l->impl = s;
    return LEDGER_OK;
}

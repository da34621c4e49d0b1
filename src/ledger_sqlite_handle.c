/* ledger_sqlite_handle — opening a SQLite file into a ledger handle, and closing it (see
 * ledger_sqlite.c for the operations in between).
 *
 * The schema version is PRAGMA user_version; migrations run at open inside BEGIN IMMEDIATE so
 * that many workers starting at once apply each one exactly once. Only ledger_create() begins a
 * schema in a file that has none; ledger_open() refuses a missing or empty file, so that a
 * ledger deleted under the pool is reported rather than begun again empty. Once open, the
 * handle pins its files (ledger_sqlite_file.h). A handle belongs to one process: open it after
 * fork. */
#include "ledger_sqlite_internal.h"

#include <errno.h>
#include <setjmp.h>
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
    /* Runs: the work events started (runs.h). */
    "ALTER TABLE ledger_events ADD COLUMN run_id TEXT;"
    "CREATE TABLE ledger_runs ("
    " id TEXT PRIMARY KEY, rule TEXT NOT NULL, action TEXT NOT NULL, resource TEXT,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued', 'submitted', 'running', 'succeeded', 'failed', 'cancelled')),"
    " queued_ms INTEGER NOT NULL, submitted_ms INTEGER, started_ms INTEGER, ended_ms INTEGER,"
    " updated_ms INTEGER NOT NULL, error_code INTEGER, error_message TEXT,"
    " model_version TEXT, model_version_id TEXT) WITHOUT ROWID;"
    "CREATE INDEX ledger_runs_queued ON ledger_runs (queued_ms, id);"
    "CREATE INDEX ledger_runs_state ON ledger_runs (state, updated_ms);"
    "CREATE TABLE ledger_run_events ("
    " seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, event_key TEXT NOT NULL,"
    " UNIQUE (run_id, event_key));",
    /* Following runs (runs_lease) and read budgets (budget.h). */
    "ALTER TABLE ledger_runs ADD COLUMN next_check_ms INTEGER;"
    "ALTER TABLE ledger_runs ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE ledger_runs ADD COLUMN follower TEXT;"
    "ALTER TABLE ledger_runs ADD COLUMN follow_until_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE ledger_budgets ("
    " name TEXT PRIMARY KEY, tokens REAL NOT NULL, at_ms INTEGER NOT NULL) WITHOUT ROWID;",
    /* Follow-up runs (runs_follow_up): at most one collecting run per rule; notices of ended
     * runs (runs_notice_lease). */
    "ALTER TABLE ledger_runs ADD COLUMN after_run TEXT;"
    "ALTER TABLE ledger_runs ADD COLUMN collecting INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE ledger_runs ADD COLUMN notify_state INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE ledger_runs ADD COLUMN notify_next_ms INTEGER;"
    "ALTER TABLE ledger_runs ADD COLUMN notify_tries INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX ledger_runs_notify ON ledger_runs (notify_state, ended_ms);"
    "CREATE UNIQUE INDEX ledger_runs_collecting ON ledger_runs (rule) WHERE collecting = 1;",
    /* Batches (runs_batch_join): one open batch per rule and key; an event of an expired batch
     * is `expired` (SQLite changes a CHECK only by building the table again). */
    "CREATE TABLE ledger_events_6 ("
    " key TEXT PRIMARY KEY,"
    " source TEXT NOT NULL, id TEXT NOT NULL, type TEXT, subject TEXT, event_time TEXT,"
    " status TEXT NOT NULL CHECK (status IN"
    "  ('claimed', 'done', 'failed', 'coalesced', 'ignored', 'expired')),"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
    " lease_until_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,"
    " last_error TEXT, outcome TEXT, event_json TEXT, run_id TEXT) WITHOUT ROWID;"
    "INSERT INTO ledger_events_6 SELECT key, source, id, type, subject, event_time, status,"
    " first_seen_ms, last_seen_ms, lease_until_ms, attempts, last_error, outcome, event_json,"
    " run_id FROM ledger_events;"
    "DROP TABLE ledger_events;"
    "ALTER TABLE ledger_events_6 RENAME TO ledger_events;"
    "CREATE INDEX ledger_events_first_seen ON ledger_events (first_seen_ms, key);"
    "CREATE INDEX ledger_events_status ON ledger_events (status, last_seen_ms);"
    "CREATE INDEX ledger_events_id ON ledger_events (id);"
    "CREATE INDEX ledger_events_run ON ledger_events (run_id);"
    "ALTER TABLE ledger_runs ADD COLUMN batch_key TEXT;"
    "ALTER TABLE ledger_runs ADD COLUMN batch_size INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE ledger_runs ADD COLUMN last_event_ms INTEGER;"
    "ALTER TABLE ledger_runs ADD COLUMN batch_closed TEXT;"
    "ALTER TABLE ledger_runs ADD COLUMN closed_ms INTEGER;"
    "DROP INDEX ledger_runs_collecting;"
    "CREATE UNIQUE INDEX ledger_runs_collecting ON ledger_runs (rule, coalesce(batch_key, ''))"
    " WHERE collecting = 1;"
    "CREATE INDEX ledger_run_events_event ON ledger_run_events (event_key);",
    /* Promotion (the gate's decision on a run) and the audit of every alias move. */
    "ALTER TABLE ledger_runs ADD COLUMN decision TEXT;"
    "ALTER TABLE ledger_runs ADD COLUMN decision_json TEXT;"
    "CREATE TABLE ledger_alias_moves ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " model TEXT NOT NULL, alias TEXT NOT NULL, from_version TEXT, to_version TEXT NOT NULL,"
    " metric TEXT, value REAL, run_id TEXT, actor TEXT NOT NULL, why TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL);"
    "CREATE INDEX ledger_alias_moves_model ON ledger_alias_moves (model, alias, seq);",
    /* The W3C traceparent of the delivery that began a run (trace.h). */
    "ALTER TABLE ledger_runs ADD COLUMN trace TEXT;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* Handles that could not be closed safely (see closable): kept reachable, never closed, until
 * the process exits and the kernel lets go of their files and locks. */
static sqlite_ledger *abandoned;

/* Whether S may be closed through SQLite. The last connection to close checkpoints the -wal
 * into the database (with the wal-index of its -shm) and deletes the -wal and -shm by name,
 * unless SQLite finds the database file moved (then it leaves everything as it is). So a lost
 * handle is closed when its database moved, or when only its -wal did (its -shm is still the
 * one every connection shares, which no connection that opened the new -wal could write
 * through: its close saves the old -wal's commits into the database); but not when its -shm
 * alone was replaced: its stale wal-index would checkpoint and delete the -wal that newer
 * connections write, through the new -shm. Those it abandons, as it does every handle once
 * SQLite faulted in this process. */
static bool closable(const sqlite_ledger *s)
{
    int c = s->file.changed;
    return !s->faulted && ledger_file_faulted() == 0 &&
           (!s->file.lost || (c & LEDGER_FILE_DB) || !(c & LEDGER_FILE_SHM));
}

void ledger_sqlite_close_handle(sqlite_ledger *s)
{
    sigjmp_buf jb;
    sigjmp_buf *volatile outer = NULL;
    if (closable(s) && sigsetjmp(jb, 0) == 0) {
        outer = ledger_file_guard_arm(&jb);
        for (int i = 0; i < S_COUNT; i++)
            sqlite3_finalize(s->stmt[i]);
        sqlite3_close(s->db);
        ledger_file_guard_disarm(outer);
        ledger_file_release(&s->file);
        free(s);
        return;
    }
    ledger_file_guard_disarm(outer);
    s->next = abandoned;
    abandoned = s;
}

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

/* A file with no schema (user_version 0: empty, or not a ledger) gets one only when CREATE. */
static const char NO_LEDGER[] = "no ledger";

/* Brings DB's schema to SCHEMA_VERSION in one transaction: NULL, or the step that failed (a
 * failed migration leaves its reason in WHY, since the ROLLBACK clears SQLite's message). */
static const char *migrate(sqlite3 *db, bool create, char why[LEDGER_ERR_MAX])
{
    if (exec_patient(db, "BEGIN IMMEDIATE") != SQLITE_OK)
        return "begin";
    int v = 0;
    if (user_version(db, &v) != 0)
        goto fail;
    if (v > SCHEMA_VERSION || (v == 0 && !create)) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return v ? "the file's schema is newer than this build" : NO_LEDGER;
    }
    for (; v < SCHEMA_VERSION; v++)
        if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(why, LEDGER_ERR_MAX, "ledger: sqlite migration to schema %d failed: %s", v + 1,
                     sqlite3_errmsg(db));
            goto fail;
        }
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

/* Opens PATH into S and makes it a ledger: NULL, or the step that failed (NO_LEDGER: the file
 * holds none and CREATE is not set). */
static const char *open_db(sqlite_ledger *s, const char *path, bool create, char open_err[])
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int v = 0;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
        return "open";
    if (sqlite3_busy_handler(s->db, busy_wait, &s->busy_since_ms) != SQLITE_OK)
        return "setup";
    /* Read before anything writes: switching an empty file to WAL would make it a database. */
    if (!create && user_version(s->db, &v) != 0)
        return "read";
    if (!create && v == 0)
        return NO_LEDGER;
    /* mmap_size 0: the database file is read, never mapped, so only the -shm can fault. */
    if (exec_patient(s->db, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL) != SQLITE_OK)
        return "setup";
    const char *failed = migrate(s->db, create, open_err);
    if (!failed && ledger_file_pin(&s->file, path, open_err) != 0)
        failed = "pin";
    return failed;
}

ledger_status ledger_sqlite_open(ledger *l, const char *url, bool create, char err[LEDGER_ERR_MAX])
{
    const char *path = url + strlen("sqlite://");
    if (path[0] != '/' || path[1] == '\0' || strchr(path, '?')) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: sqlite URL must be sqlite:///absolute/path");
        return LEDGER_ERR_INVALID;
    }
    struct stat st;
    if (!create && stat(path, &st) != 0 && errno == ENOENT) {
        snprintf(err, LEDGER_ERR_MAX,
                 "ledger: sqlite: no ledger at %s: only the pool's start creates one (restore "
                 "the file there, or restart the pool to begin an empty ledger)",
                 path);
        return LEDGER_ERR_UNAVAILABLE;
    }
    if (create && make_parent(path) != 0) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: cannot create the directory of %s: %s", path,
                 strerror(errno));
        return LEDGER_ERR_UNAVAILABLE;
    }
    sqlite_ledger *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, LEDGER_ERR_MAX, "ledger: out of memory");
        return LEDGER_ERR_UNAVAILABLE;
    }
    char open_err[LEDGER_ERR_MAX] = "";
    const char *failed = "open";
    ledger_file_guard_install();
    sigjmp_buf jb;
    sigjmp_buf *volatile outer = NULL;
    if (sigsetjmp(jb, 0) == 0) {
        outer = ledger_file_guard_arm(&jb);
        failed = open_db(s, path, create, open_err);
    } else {
        s->faulted = true;
        failed = "open (SIGBUS on its -shm mapping)";
    }
    ledger_file_guard_disarm(outer);
    if (!failed) {
        l->ops = &ledger_sqlite_ops;
        l->impl = s;
        return LEDGER_OK;
    }
    if (failed == NO_LEDGER)
        snprintf(err, LEDGER_ERR_MAX,
                 "ledger: sqlite: %s holds no ledger (an empty file, or another program's): only "
                 "the pool's start begins one",
                 path);
    else if (open_err[0])
        snprintf(err, LEDGER_ERR_MAX, "%s", open_err);
    else
        snprintf(err, LEDGER_ERR_MAX, "ledger: sqlite %s of %s failed: %s", failed, path,
                 s->faulted ? "the file was truncated or rewritten under this process"
                 : s->db    ? sqlite3_errmsg(s->db)
                            : "out of memory");
    ledger_sqlite_close_handle(s);
    return LEDGER_ERR_UNAVAILABLE;
}

/* ledger_sqlite_internal — what the SQLite backend's two files share: ledger_sqlite.c (the
 * statements and operations) and ledger_sqlite_handle.c (opening a file into a handle, and
 * closing it). Internal to the backend. */
#ifndef RT_LEDGER_SQLITE_INTERNAL_H
#define RT_LEDGER_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "ledger_backend.h"
#include "ledger_sqlite_file.h"

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
    S_RUN_NAME,
    S_RUN_INSERT,
    S_RUN_COVER,
    S_RUN_UPDATE,
    S_RUN_GET,
    S_RUN_LIST,
    S_RUN_EVENTS,
    S_RUN_LEASE,
    S_RUN_CHECKED,
    S_BUDGET_TAKE,
    S_RUN_END_EVENTS,
    S_RUN_COVERING,
    S_BATCH_FIND,
    S_BATCH_INSERT,
    S_BATCH_COVER,
    S_BATCH_COVER_LIST,
    S_BATCH_CLOSED,
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_RUN_COUNTS,
    S_RUN_QUEUE,
    S_RUN_COLLECTING_INSERT,
    S_RUN_COLLECTING,
    S_RUN_COVER_COLLECTING,
    S_RUN_COVERS,
    S_RUN_DUE_NOW,
    S_RUN_NOTICE_LEASE,
    S_RUN_NOTICED,
    S_RUN_DECIDE,
    S_DECISION_COUNTS,
    S_COUNT_STATUS,
    S_MOVE_ADD,
    S_MOVE_LIST,
    S_GC_RUN_EVENTS,
    S_GC_RUNS,
    S_COUNT
};

/* One handle's state (ledger.impl). */
typedef struct sqlite_ledger {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    int64_t busy_since_ms; /* when the current wait for the write lock began */
    ledger_file file;
    bool faulted;               /* SQLite faulted inside a call on this handle */
    struct sqlite_ledger *next; /* in the list of abandoned handles */
} sqlite_ledger;

/* The operations over a handle. */
extern const ledger_ops ledger_sqlite_ops;

/* Closes what SQLite opened for S and frees S, or abandons S when closing would be unsafe (see
 * ledger_sqlite_handle.c). */
void ledger_sqlite_close_handle(sqlite_ledger *s);

#endif

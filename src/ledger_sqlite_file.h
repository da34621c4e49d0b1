/* ledger_sqlite_file — the SQLite ledger's hold on its files (internal to the SQLite backend):
 * whether the database, -wal and -shm a handle has open are still the files its path names,
 * and a guard that turns a fault on SQLite's mapping of the -shm into an error rather than a
 * dead process.
 *
 * Why the identity. A process keeps the files it opened, by inode, whatever happens to their
 * names. After `rm ledger.db*`, or a restore that moves another file into place, a connection
 * goes on committing into a file nobody will open again and the pool answers 200 for work
 * recorded nowhere; a -wal deleted alone leaves the connections that hold the old one and those
 * that open a new one disagreeing about what was committed. So, once open, the handle pins the
 * (st_dev, st_ino) of the three files, and ledger_file_intact() compares them with what the path
 * names now (three stat calls): before a call at most once every LEDGER_FILE_CHECK_MS, and after
 * every write, so a write that went into a replaced file is reported failed, never done. A
 * handle that found its files replaced stays lost: the process opens the ledger afresh.
 *
 * Why the guard. The -shm file is the wal-index, mapped into the memory of every connection
 * (SQLite keeps it in the heap only in EXCLUSIVE locking mode, one connection, which a pool of
 * processes cannot use). When its pages vanish under the mapping (another program truncates or
 * rewrites it) the next access raises SIGBUS. Inside ledger_file_guard_arm() ...
 * ledger_file_guard_disarm() such a fault jumps back to the sigsetjmp the caller armed, as if
 * the process had died at that instruction: the SQLite call is abandoned where it stood (its
 * locks stay held until the process exits) and ledger_file_faulted() says so for good. A
 * SIGBUS outside the guard, or one sent by kill(2), does what it did before the guard existed.
 *
 * Ownership: a ledger_file owns its path strings; ledger_file_release() frees them. The guard
 * is per thread; its handler is process-wide. */
#ifndef RT_LEDGER_SQLITE_FILE_H
#define RT_LEDGER_SQLITE_FILE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ledger.h"

#define LEDGER_FILE_CHECK_MS 10 /* the most a read waits to notice a replaced file */

typedef struct {
    dev_t dev;
    ino_t ino;
} ledger_file_id;

enum { LEDGER_FILE_DB = 1, LEDGER_FILE_WAL = 2, LEDGER_FILE_SHM = 4 };

typedef struct {
    char *paths[3];        /* the database, its -wal, its -shm */
    ledger_file_id ids[3]; /* what they were when pinned */
    int64_t next_check_ms; /* clk_mono_ms */
    bool lost;             /* sticky: a file was replaced or deleted */
    int changed;           /* once lost: which (LEDGER_FILE_*), as found then */
    char why[LEDGER_ERR_MAX];
} ledger_file;

/* Pins the files PATH, PATH-wal and PATH-shm name now (the caller's connection has all three
 * open). 0, or -1 with ERR (a file missing, out of memory). */
int ledger_file_pin(ledger_file *f, const char *path, char err[LEDGER_ERR_MAX]);

/* True while the three paths name the pinned files. Without FORCE, checks at most once every
 * LEDGER_FILE_CHECK_MS and answers true in between. Once false, false for good, with f->why
 * naming the first file that changed (no secrets: paths only) and f->changed all of them. */
bool ledger_file_intact(ledger_file *f, bool force);

void ledger_file_release(ledger_file *f);

/* Makes the guard's handler SIGBUS's, keeping the action it replaces for the signals that are
 * not the guard's (called at each open: a handler installed since then is replaced again). */
void ledger_file_guard_install(void);

/* Arms the guard with JB (already set by sigsetjmp(JB, 0) in a frame that outlives the guarded
 * calls) and returns the guard it replaces, to be given back to ledger_file_guard_disarm(). */
sigjmp_buf *ledger_file_guard_arm(sigjmp_buf *jb);
void ledger_file_guard_disarm(sigjmp_buf *outer);

/* How many faults the guard has caught in this process. Non-zero: SQLite state in this process
 * can no longer be trusted (a lock may be held by an abandoned call); exit and start afresh. */
int ledger_file_faulted(void);

#endif

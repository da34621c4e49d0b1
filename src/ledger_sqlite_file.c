/* ledger_sqlite_file — see ledger_sqlite_file.h.
 *
 * The guard's handler is installed with SA_NODEFER and armed with sigsetjmp(jb, 0): the handler
 * then runs with the mask the guarded code had, so jumping back needs no mask to restore and
 * arming costs no system call (a ledger read on the hot path arms it once). */
#include "ledger_sqlite_file.h"

#include "clk.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const suffixes[3] = {"", "-wal", "-shm"};

int ledger_file_pin(ledger_file *f, const char *path, char err[LEDGER_ERR_MAX])
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(path) + strlen(suffixes[i]) + 1;
        struct stat st;
        if (!(f->paths[i] = malloc(n))) {
            snprintf(err, LEDGER_ERR_MAX, "ledger: out of memory");
            goto fail;
        }
        snprintf(f->paths[i], n, "%s%s", path, suffixes[i]);
        if (stat(f->paths[i], &st) != 0) {
            snprintf(err, LEDGER_ERR_MAX, "ledger: sqlite: %s is not there once open: %s",
                     f->paths[i], strerror(errno));
            goto fail;
        }
        f->ids[i] = (ledger_file_id){st.st_dev, st.st_ino};
    }
    f->next_check_ms = clk_mono_ms() + LEDGER_FILE_CHECK_MS;
    return 0;
fail:
    ledger_file_release(f);
    return -1;
}

bool ledger_file_intact(ledger_file *f, bool force)
{
    if (f->lost)
        return false;
    int64_t now = clk_mono_ms();
    if (!force && now < f->next_check_ms)
        return true;
    f->next_check_ms = now + LEDGER_FILE_CHECK_MS;
    for (int i = 2; i >= 0; i--) { /* the database last, so WHY names the first that changed */
        struct stat st;
        bool there = stat(f->paths[i], &st) == 0;
        if (there && st.st_dev == f->ids[i].dev && st.st_ino == f->ids[i].ino)
            continue;
        f->lost = true;
        f->changed |= 1 << i;
        snprintf(f->why, sizeof f->why,
                 "ledger: sqlite: %s was %s under this process, which holds a file no longer "
                 "at that path",
                 f->paths[i], there ? "replaced" : "deleted");
    }
    return !f->lost;
}

void ledger_file_release(ledger_file *f)
{
    for (int i = 0; i < 3; i++)
        free(f->paths[i]);
    memset(f->paths, 0, sizeof f->paths);
}

/* ---- the SIGBUS guard ---------------------------------------------------------------------- */

static _Thread_local sigjmp_buf *armed;
static volatile sig_atomic_t faults;
static struct sigaction before; /* what SIGBUS did before the guard */

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    sigjmp_buf *jb = armed;
    if (jb && si->si_code > 0) { /* raised by the kernel for a memory access, not by kill(2) */
        armed = NULL;
        faults++;
        siglongjmp(*jb, 1);
    }
    /* Not ours: what SIGBUS did before. A fault returns to its instruction and faults again
     * under that action; a sent signal is sent again. */
    sigaction(sig, &before, NULL);
    if (si->si_code <= 0)
        raise(sig);
}

void ledger_file_guard_install(void)
{
    struct sigaction cur;
    if (sigaction(SIGBUS, NULL, &cur) != 0 || cur.sa_sigaction == on_sigbus)
        return;
    struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    before = cur;
    sigaction(SIGBUS, &sa, NULL);
}

sigjmp_buf *ledger_file_guard_arm(sigjmp_buf *jb)
{
    sigjmp_buf *outer = armed;
    armed = jb;
    return outer;
}

void ledger_file_guard_disarm(sigjmp_buf *outer)
{
    armed = outer;
}

int ledger_file_faulted(void)
{
    return faults;
}

/* follower — see follower.h. */
#include "follower.h"

#include <signal.h>
#include <time.h>

#include "function.h"
#include "ledger.h"
#include "log.h"

#define FOLLOW_SLEEP_MAX_MS 1000 /* a new run is noticed within this */

static bool stopping;

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

static bool stop_asked(void)
{
    if (stopping)
        return true;
    sigset_t pending, set;
    stop_signals(&set);
    if (sigpending(&pending) == 0 &&
        (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1))
        stopping = true;
    return stopping;
}

/* Sleeps MS milliseconds, or until a stop signal (taken: stopping is then set). */
static void nap(int ms)
{
    sigset_t set;
    stop_signals(&set);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    int sig = sigtimedwait(&set, NULL, &ts);
    if (sig == SIGTERM || sig == SIGINT)
        stopping = true;
}

bool follower_wanted(const config *cfg)
{
    const fn_def *fn = fn_lookup(cfg->function);
    return fn && fn->follow;
}

int follower_main(const config *cfg)
{
    const fn_def *fn = fn_lookup(cfg->function);
    if (!fn || !fn->follow)
        return 0;
    sigset_t set;
    stop_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    char err[512];
    ledger *l = NULL;
    if (ledger_open(cfg->ledger.url, &l, err) != LEDGER_OK) {
        log_error("follower: cannot open the ledger: %s", err);
        return 1;
    }
    void *state = NULL;
    if (fn->init && fn->init(cfg, &state, err, sizeof err) != 0) {
        log_error("follower: %s", err);
        ledger_close(l);
        return 1;
    }
    log_info("follower started for function %s", fn->name);
    int rc = 0;
    while (!stop_asked()) {
        int ms = fn->follow(state, l, stop_asked);
        if (ledger_lost(l)) {
            log_error("follower: %s: starting afresh", ledger_last_error(l));
            rc = 1;
            break;
        }
        if (!stop_asked())
            nap(ms < 0 ? 0 : ms > FOLLOW_SLEEP_MAX_MS ? FOLLOW_SLEEP_MAX_MS : ms);
    }
    if (fn->fini && state)
        fn->fini(state);
    ledger_close(l);
    if (rc == 0)
        log_info("follower stopped");
    return rc;
}

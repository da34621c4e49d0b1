/* master — see master.h.
 *
 * One loop, woken by signals (a signalfd) or every 100 ms: reap the dead, then either drain
 * (stopping) or keep the pool at strength — kill the stuck, start the missing, and move a
 * reload forward by one worker. All decisions read the scoreboard, which the workers keep
 * current, so the master never talks to a worker except by signal. */
#include "master.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clk.h"
#include "gc.h"
#include "listener.h"
#include "log.h"
#include "worker.h"

#define TICK_MS 100
#define TIMEOUT_GRACE_MS 1000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 10000
#define YOUNG_MS 5000 /* a worker that dies younger than this counts toward the backoff */

typedef struct {
    pid_t pid;
    int64_t started_ms;
    uint32_t generation;
    bool retiring;
    bool killed;
} child;

typedef struct {
    const pool_options *opts;
    config cfg;
    int listen_fd, sfd;
    scoreboard *sb;
    child kids[SB_MAX_WORKERS];
    uint32_t generation;
    int backoff_ms;
    int64_t next_spawn_ms;
    bool stopping, killed_all;
    int64_t stop_deadline_ms;
    pid_t gc_pid;      /* the running collection, 0 when none */
    int64_t gc_due_ms; /* when the next collection starts */
} master;

static int desired(const master *m)
{
    int n = config_worker_count(&m->cfg);
    return n < m->sb->n_slots ? n : m->sb->n_slots;
}

static void spawn(master *m)
{
    int slot = -1;
    for (int i = 0; i < m->sb->n_slots && slot < 0; i++)
        if (m->kids[i].pid == 0)
            slot = i;
    if (slot < 0)
        return;
    sb_slot *s = &m->sb->slots[slot];
    int64_t now = clk_mono_ms();
    atomic_store(&s->state, SB_STARTING);
    atomic_store(&s->requests, 0);
    atomic_store(&s->busy_since_ms, 0);
    atomic_store(&s->connections, 0);
    atomic_store(&s->started_ms, now);
    atomic_store(&s->generation, m->generation);
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        atomic_store(&s->state, SB_EMPTY);
        m->next_spawn_ms = now + BACKOFF_FIRST_MS;
        return;
    }
    if (pid == 0) {
        close(m->sfd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        atomic_store(&s->pid, getpid());
        worker_args args = {.listen_fd = m->listen_fd, .slot = slot, .cfg = &m->cfg, .sb = m->sb};
        _exit(worker_main(&args));
    }
    atomic_store(&s->pid, pid);
    m->kids[slot] = (child){.pid = pid, .started_ms = now, .generation = m->generation};
}

static void reap(master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int slot = -1;
        for (int i = 0; i < m->sb->n_slots; i++)
            if (m->kids[i].pid == pid)
                slot = i;
        if (pid == m->gc_pid)
            m->gc_pid = 0;
        if (slot < 0)
            continue; /* the gc child, or an already forgotten worker */
        child k = m->kids[slot];
        m->kids[slot] = (child){0};
        sb_slot *s = &m->sb->slots[slot];
        atomic_store(&s->pid, 0);
        atomic_store(&s->busy_since_ms, 0);
        atomic_store(&s->connections, 0);
        atomic_store(&s->state, SB_EMPTY);
        if (m->stopping || k.retiring)
            continue;
        int64_t now = clk_mono_ms(), lived = now - k.started_ms;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            atomic_fetch_add(&m->sb->recycled, 1);
            log_info("worker %d recycled after max_requests", (int)pid);
        } else {
            atomic_fetch_add(&m->sb->crashes, 1);
            if (lived < YOUNG_MS ||
                (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_INIT)) {
                m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2 : BACKOFF_FIRST_MS;
                if (m->backoff_ms > BACKOFF_MAX_MS)
                    m->backoff_ms = BACKOFF_MAX_MS;
            } else {
                m->backoff_ms = 0;
            }
            m->next_spawn_ms = now + m->backoff_ms;
            if (k.killed)
                log_error("worker %d killed: a request ran past request_timeout_s", (int)pid);
            else if (WIFSIGNALED(status))
                log_error("worker %d died on signal %d after %lld ms; restarting in %d ms",
                          (int)pid, WTERMSIG(status), (long long)lived, m->backoff_ms);
            else
                log_error("worker %d exited with status %d after %lld ms; restarting in %d ms",
                          (int)pid, WEXITSTATUS(status), (long long)lived, m->backoff_ms);
        }
        atomic_fetch_add(&m->sb->restarts, 1);
    }
}

static void kill_stuck(master *m)
{
    int64_t limit = (int64_t)m->cfg.request_timeout_s * 1000 + TIMEOUT_GRACE_MS;
    int64_t now = clk_mono_ms();
    for (int i = 0; i < m->sb->n_slots; i++) {
        child *k = &m->kids[i];
        int64_t since = atomic_load(&m->sb->slots[i].busy_since_ms);
        if (k->pid > 0 && !k->killed && since > 0 && now - since > limit) {
            kill(k->pid, SIGKILL);
            k->killed = true;
            atomic_fetch_add(&m->sb->timeouts, 1);
        }
    }
}

static void retire(child *k)
{
    k->retiring = true;
    kill(k->pid, SIGTERM);
}

/* Keeps the pool at strength and moves a reload forward: at most one worker more than wanted
 * at any time, and an old worker retires only once its replacement is ready. */
static void balance(master *m)
{
    int cur = 0, old = 0, pending = 0;
    child *an_old = NULL, *a_cur = NULL;
    for (int i = 0; i < m->sb->n_slots; i++) {
        child *k = &m->kids[i];
        if (k->pid == 0 || k->retiring)
            continue;
        if (k->generation != m->generation) {
            old++;
            an_old = k;
            continue;
        }
        cur++;
        a_cur = k;
        if (atomic_load(&m->sb->slots[i].state) == SB_STARTING)
            pending++;
    }
    int want = desired(m);
    if (pending == 0 && old > 0 && cur + old > want) {
        retire(an_old);
        return;
    }
    if (old == 0 && cur > want) {
        retire(a_cur);
        return;
    }
    if (clk_mono_ms() < m->next_spawn_ms)
        return;
    if (old > 0 && pending == 0 && cur + old == want) {
        spawn(m); /* the surge worker of a reload */
        return;
    }
    for (; cur + old < want; cur++)
        spawn(m);
}

static void reload(master *m)
{
    config next;
    char err[CONFIG_ERR_MAX];
    if (pool_config_load(m->opts, &next, err) != 0) {
        log_error("reload refused, keeping the running configuration: %s", err);
        return;
    }
    if (strcmp(next.listen, m->cfg.listen) != 0)
        log_warning("reload: listen changed to %s; it takes effect at the next restart",
                    next.listen);
    config_set_string(&next.listen, m->cfg.listen);
    config_free(&m->cfg);
    m->cfg = next;
    m->generation++;
    atomic_store(&m->sb->generation, m->generation);
    m->backoff_ms = 0;
    m->next_spawn_ms = 0;
    log_severity level = LOG_INFO;
    log_severity_parse(m->cfg.log_level, &level);
    log_init("master", level);
    log_info("reloaded configuration (generation %u); replacing workers one by one", m->generation);
}

/* Collects finished ledger records older than ledger.retention_s, in a short-lived child so the
 * master never blocks on the database. One collection at a time; a failure is logged and the
 * next one runs at the next interval. */
static void collect(master *m)
{
    int64_t now = clk_mono_ms();
    if (m->cfg.ledger.gc_interval_s == 0 || m->gc_pid > 0 || now < m->gc_due_ms)
        return;
    m->gc_due_ms = now + (int64_t)m->cfg.ledger.gc_interval_s * 1000;
    pid_t pid = fork();
    if (pid < 0) {
        log_error("gc: fork: %s", strerror(errno));
        return;
    }
    if (pid > 0) {
        m->gc_pid = pid;
        return;
    }
    close(m->sfd);
    close(m->listen_fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    log_init("gc", LOG_INFO);
    _exit(gc_collect(m->cfg.ledger.url, m->cfg.ledger.retention_s, NULL) == 0 ? 0 : 1);
}

static void begin_stop(master *m)
{
    if (m->stopping)
        return;
    m->stopping = true;
    m->stop_deadline_ms = clk_mono_ms() + (int64_t)m->cfg.shutdown_timeout_s * 1000;
    listener_unlink(m->cfg.listen);
    log_info("stopping: draining in-flight requests (at most %d s)", m->cfg.shutdown_timeout_s);
    for (int i = 0; i < m->sb->n_slots; i++)
        if (m->kids[i].pid > 0)
            kill(m->kids[i].pid, SIGTERM);
}

static int live_children(const master *m)
{
    int n = 0;
    for (int i = 0; i < m->sb->n_slots; i++)
        n += m->kids[i].pid > 0;
    return n;
}

static void read_signals(master *m)
{
    struct signalfd_siginfo si;
    while (read(m->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            begin_stop(m);
        else if (si.ssi_signo == SIGHUP && !m->stopping)
            reload(m);
    }
}

int master_run(const pool_options *opts, config *cfg, int listen_fd, scoreboard *sb)
{
    static master m; /* large (the child table); one per process */
    m = (master){.opts = opts,
                 .cfg = *cfg,
                 .listen_fd = listen_fd,
                 .sb = sb,
                 .generation = 1,
                 .gc_due_ms = clk_mono_ms() + 1000};
    memset(cfg, 0, sizeof *cfg);
    atomic_store(&sb->master_pid, getpid());
    atomic_store(&sb->generation, 1);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    m.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m.sfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        config_free(&m.cfg);
        return 1;
    }
    log_info("pool started: %d workers on %s", desired(&m), m.cfg.listen);
    for (;;) {
        reap(&m);
        if (m.stopping) {
            if (live_children(&m) == 0 && m.gc_pid == 0)
                break;
            if (!m.killed_all && clk_mono_ms() > m.stop_deadline_ms) {
                log_warning("shutdown timeout: killing %d workers still busy", live_children(&m));
                for (int i = 0; i < sb->n_slots; i++)
                    if (m.kids[i].pid > 0)
                        kill(m.kids[i].pid, SIGKILL);
                m.killed_all = true;
            }
        } else {
            kill_stuck(&m);
            balance(&m);
            collect(&m);
        }
        struct pollfd p = {.fd = m.sfd, .events = POLLIN};
        if (poll(&p, 1, TICK_MS) > 0)
            read_signals(&m);
    }
    close(m.sfd);
    close(listen_fd);
    log_info("pool stopped");
    config_free(&m.cfg);
    return 0;
}

/* master — see master.h.
 *
 * One loop, woken by signals (a signalfd), by connections (the listening socket, and the idle
 * connections of busy workers while another worker is idle: conns.c) or every 100 ms: reap the
 * dead, then either drain (stopping) or keep the pool at strength — kill the stuck, start the
 * missing, and move a reload forward by one worker. All decisions read the scoreboard and the
 * connection table, which the workers keep current, so the master never talks to a worker
 * except by signal and by handing it connections. */
#include "master.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clk.h"
#include "conns.h"
#include "follower.h"
#include "gc.h"
#include "listener.h"
#include "log.h"
#include "worker.h"

#define TICK_MS 100
#define STOP_SAY_MS 5000 /* a stop still going after this long says what it waits for */
#define TIMEOUT_GRACE_MS 1000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 10000
#define YOUNG_MS 5000 /* a worker that dies younger than this counts toward the backoff */
#define FOLLOWER_BACKOFF_MAX_MS 30000

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
    int sfd;
    pid_t master_pid;
    ctab *t;
    conns *conns; /* the listening socket and every connection (conns.h) */
    scoreboard *sb;
    child kids[SB_MAX_WORKERS];
    uint32_t generation;      /* the configuration in force */
    uint32_t last_generation; /* the highest number given out: a rolled-back one is not reused */
    /* A reload on trial until a worker of its generation is ready: the configuration before it
     * (prev_generation 0: none on trial), restored if that worker cannot start. */
    config prev;
    uint32_t prev_generation;
    int backoff_ms;
    int64_t next_spawn_ms;
    bool stopping, killed_all, said_waiting;
    int64_t stop_began_ms, stop_deadline_ms;
    pid_t gc_pid;      /* the running collection, 0 when none */
    int64_t gc_due_ms; /* when the next collection starts */
    /* The follower (follower.h): one child for as long as the pool runs. */
    pid_t follower_pid;
    uint32_t follower_generation; /* the configuration it runs */
    int64_t follower_due_ms;      /* when it may start (again) */
    int follower_backoff_ms;
} master;

/* The master holds a copy of every connection (CTAB_MAX) besides its own descriptors. */
static void raise_fd_limit(void)
{
    struct rlimit r;
    rlim_t want = CTAB_MAX + 256;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < want) {
        r.rlim_cur = r.rlim_max < want ? r.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

static int desired(const master *m)
{
    int n = config_worker_count(&m->cfg);
    return n < m->sb->n_slots ? n : m->sb->n_slots;
}

/* In a child just forked: when the master dies (SIGKILL, a crash), the child gets SIGTERM and
 * stops like a retired worker instead of serving on unsupervised. If the master died before
 * the request was made, nothing would send it: the child exits at once. */
static void orphan_guard(pid_t master_pid)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master_pid)
        _exit(0);
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
    ct_claim_set(m->t, slot, CLAIM_OFF);
    int chan[2]; /* [0] the master's end, [1] the worker's */
    pid_t pid = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) == 0) {
        if ((pid = fork()) < 0) {
            close(chan[0]);
            close(chan[1]);
        }
    }
    if (pid < 0) {
        log_error("cannot start a worker: %s", strerror(errno));
        atomic_store(&s->state, SB_EMPTY);
        m->next_spawn_ms = now + BACKOFF_FIRST_MS;
        return;
    }
    if (pid == 0) {
        close(m->sfd);
        close(chan[0]);
        conns_close_inherited(m->conns);
        orphan_guard(m->master_pid);
        atomic_store(&s->pid, getpid());
        worker_args args = {.chan = chan[1], .slot = slot, .t = m->t, .cfg = &m->cfg, .sb = m->sb};
        _exit(worker_main(&args));
    }
    close(chan[1]);
    conns_worker_started(m->conns, slot, chan[0]);
    atomic_store(&s->pid, pid);
    m->kids[slot] = (child){.pid = pid, .started_ms = now, .generation = m->generation};
}

static void use_config(master *m, config *cfg, uint32_t generation)
{
    m->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    m->generation = generation;
    atomic_store(&m->sb->generation, generation);
    m->backoff_ms = 0;
    m->next_spawn_ms = 0;
    log_severity level = LOG_INFO;
    log_severity_parse(m->cfg.log_level, &level);
    log_init("master", level);
}

/* A reload is checked as `retrainctl check-config` checks a file (pool_config_load), and one
 * that fails is refused whole: the workers keep the configuration they run. One that passes is
 * on trial until a worker of its generation is ready (see accept_trial and roll_back). */
static void reload(master *m)
{
    config next;
    char err[CONFIG_ERR_MAX];
    if (pool_config_load(m->opts, &next, err) != 0) {
        for (char *p = err; (p = strchr(p, '\n'));)
            *p = ';'; /* one log line */
        log_error("reload refused, keeping generation %u: %s", m->generation, err);
        atomic_fetch_add(&m->sb->reload_failures, 1);
        return;
    }
    if (strcmp(next.listen, m->cfg.listen) != 0)
        log_warning("reload: listen changed to %s; it takes effect at the next restart",
                    next.listen);
    config_set_string(&next.listen, m->cfg.listen);
    if (m->prev_generation) {
        config_free(&m->cfg); /* a reload on trial is replaced; the fallback stays */
    } else {
        m->prev = m->cfg;
        m->prev_generation = m->generation;
    }
    use_config(m, &next, ++m->last_generation);
    log_info("reloaded configuration (generation %u); replacing workers one by one", m->generation);
}

/* The reload on trial is accepted once a worker of its generation is ready. */
static void accept_trial(master *m)
{
    if (!m->prev_generation)
        return;
    for (int i = 0; i < m->sb->n_slots; i++) {
        int st = atomic_load(&m->sb->slots[i].state);
        if (m->kids[i].pid > 0 && m->kids[i].generation == m->generation &&
            (st == SB_IDLE || st == SB_BUSY)) {
            config_free(&m->prev);
            m->prev_generation = 0;
            atomic_fetch_add(&m->sb->reloads, 1);
            return;
        }
    }
}

/* A worker of the generation on trial died before any of it was ready: the new configuration
 * cannot run (credentials, a ledger URL only a worker can refuse, ...), so the one before it is
 * restored; its workers were never retired, and the trial's other workers now count as old. */
static void roll_back(master *m, const char *why)
{
    log_error("reload rolled back: the first worker of generation %u %s; keeping generation %u",
              m->generation, why, m->prev_generation);
    config_free(&m->cfg);
    use_config(m, &m->prev, m->prev_generation);
    m->prev_generation = 0;
    atomic_fetch_add(&m->sb->reload_failures, 1);
}

/* The follower exited with STATUS: started again at once after a clean exit (a reload), else
 * after a backoff that grows while it keeps failing. */
static void follower_gone(master *m, int status)
{
    m->follower_pid = 0;
    if (m->stopping)
        return;
    int64_t now = clk_mono_ms();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        m->follower_backoff_ms = 0;
        m->follower_due_ms = now;
        return;
    }
    m->follower_backoff_ms = m->follower_backoff_ms ? m->follower_backoff_ms * 2 : 1000;
    if (m->follower_backoff_ms > FOLLOWER_BACKOFF_MAX_MS)
        m->follower_backoff_ms = FOLLOWER_BACKOFF_MAX_MS;
    m->follower_due_ms = now + m->follower_backoff_ms;
    if (WIFSIGNALED(status))
        log_error("follower died on signal %d; restarting in %d ms", WTERMSIG(status),
                  m->follower_backoff_ms);
    else
        log_error("follower exited with status %d; restarting in %d ms", WEXITSTATUS(status),
                  m->follower_backoff_ms);
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
        if (pid == m->follower_pid)
            follower_gone(m, status);
        if (slot < 0)
            continue; /* the gc or follower child, or an already forgotten worker */
        child k = m->kids[slot];
        m->kids[slot] = (child){0};
        conns_worker_gone(m->conns, slot);
        sb_slot *s = &m->sb->slots[slot];
        atomic_store(&s->pid, 0);
        atomic_store(&s->busy_since_ms, 0);
        atomic_store(&s->connections, 0);
        atomic_store(&s->state, SB_EMPTY);
        if (m->stopping || k.retiring)
            continue;
        if (m->prev_generation && k.generation == m->generation) {
            char why[64];
            if (WIFSIGNALED(status))
                snprintf(why, sizeof why, "died on signal %d", WTERMSIG(status));
            else
                snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
            atomic_fetch_add(&m->sb->crashes, 1);
            roll_back(m, why);
            continue;
        }
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

static void retire(master *m, child *k)
{
    k->retiring = true;
    conns_worker_retiring(m->conns, (int)(k - m->kids));
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
        retire(m, an_old);
        return;
    }
    if (old == 0 && cur > want) {
        retire(m, a_cur);
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
    conns_close_inherited(m->conns);
    orphan_guard(m->master_pid);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    log_init("gc", LOG_INFO);
    _exit(gc_collect(m->cfg.ledger.url, m->cfg.ledger.retention_s, NULL) == 0 ? 0 : 1);
}

/* Keeps one follower running with the configuration in force: started when due, and asked to
 * stop (then started again) once a reload is accepted. */
static void follow(master *m)
{
    if (m->follower_pid > 0) {
        if (m->follower_generation != m->generation && !m->prev_generation)
            kill(m->follower_pid, SIGTERM);
        return;
    }
    if (!follower_wanted(&m->cfg) || clk_mono_ms() < m->follower_due_ms)
        return;
    pid_t pid = fork();
    if (pid < 0) {
        log_error("follower: fork: %s", strerror(errno));
        m->follower_due_ms = clk_mono_ms() + 1000;
        return;
    }
    if (pid > 0) {
        m->follower_pid = pid;
        m->follower_generation = m->generation;
        return;
    }
    close(m->sfd);
    conns_close_inherited(m->conns);
    orphan_guard(m->master_pid);
    sigset_t keep; /* SIGTERM and SIGINT stay blocked: the follower waits for them */
    sigemptyset(&keep);
    sigaddset(&keep, SIGTERM);
    sigaddset(&keep, SIGINT);
    sigprocmask(SIG_SETMASK, &keep, NULL);
    log_severity level = LOG_INFO;
    log_severity_parse(m->cfg.log_level, &level);
    log_init("follower", level);
    _exit(follower_main(&m->cfg));
}

static void begin_stop(master *m)
{
    if (m->stopping)
        return;
    m->stopping = true;
    m->stop_began_ms = clk_mono_ms();
    m->stop_deadline_ms = m->stop_began_ms + (int64_t)m->cfg.shutdown_timeout_s * 1000;
    listener_unlink(m->cfg.listen);
    conns_stop(m->conns);
    log_info("stopping: draining in-flight requests (at most %d s)", m->cfg.shutdown_timeout_s);
    for (int i = 0; i < m->sb->n_slots; i++)
        if (m->kids[i].pid > 0)
            kill(m->kids[i].pid, SIGTERM);
    /* A collection is one transaction: cut short, it rolls back and the next start runs it. */
    if (m->gc_pid > 0)
        kill(m->gc_pid, SIGTERM);
    if (m->follower_pid > 0)
        kill(m->follower_pid, SIGTERM);
}

static int live_children(const master *m)
{
    int n = 0;
    for (int i = 0; i < m->sb->n_slots; i++)
        n += m->kids[i].pid > 0;
    return n;
}

/* While stopping: once, after STOP_SAY_MS, say what the stop still waits for; at the deadline,
 * kill it. */
static void stop_progress(master *m)
{
    int64_t now = clk_mono_ms();
    if (!m->said_waiting && now > m->stop_began_ms + STOP_SAY_MS) {
        log_info("stopping: still waiting for %d workers%s%s", live_children(m),
                 m->gc_pid > 0 ? " and the ledger collection" : "",
                 m->follower_pid > 0 ? " and the follower" : "");
        m->said_waiting = true;
    }
    if (m->killed_all || now <= m->stop_deadline_ms)
        return;
    log_warning("shutdown timeout: killing %d workers still busy%s%s", live_children(m),
                m->gc_pid > 0 ? " and the ledger collection" : "",
                m->follower_pid > 0 ? " and the follower" : "");
    for (int i = 0; i < m->sb->n_slots; i++)
        if (m->kids[i].pid > 0)
            kill(m->kids[i].pid, SIGKILL);
    if (m->gc_pid > 0)
        kill(m->gc_pid, SIGKILL);
    if (m->follower_pid > 0)
        kill(m->follower_pid, SIGKILL);
    m->killed_all = true;
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

void master_block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigprocmask(SIG_BLOCK, set, NULL);
}

int master_run(const pool_options *opts, config *cfg, int listen_fd, scoreboard *sb)
{
    static master m; /* large (the child table); one per process */
    m = (master){.opts = opts,
                 .cfg = *cfg,
                 .sb = sb,
                 .master_pid = getpid(),
                 .generation = 1,
                 .last_generation = 1,
                 .gc_due_ms = clk_mono_ms() + 1000,
                 .follower_due_ms = clk_mono_ms() + 500};
    memset(cfg, 0, sizeof *cfg);
    atomic_store(&sb->master_pid, getpid());
    atomic_store(&sb->generation, 1);

    sigset_t set;
    master_block_signals(&set);
    signal(SIGPIPE, SIG_IGN);
    m.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    m.t = ctab_create();
    m.conns = m.t ? conns_new(listen_fd, m.t, sb) : NULL;
    if (m.sfd < 0 || !m.conns) {
        log_error("cannot start the pool: %s", m.sfd < 0 ? strerror(errno) : "out of memory");
        if (m.sfd >= 0)
            close(m.sfd);
        close(listen_fd);
        ctab_destroy(m.t);
        config_free(&m.cfg);
        return 1;
    }
    raise_fd_limit();
    log_info("pool started: %d workers on %s", desired(&m), m.cfg.listen);
    for (;;) {
        reap(&m);
        if (m.stopping) {
            if (live_children(&m) == 0 && m.gc_pid == 0 && m.follower_pid == 0)
                break;
            stop_progress(&m);
        } else {
            kill_stuck(&m);
            accept_trial(&m);
            balance(&m);
            collect(&m);
            follow(&m);
        }
        conns_tick(m.conns);
        static struct pollfd p[1 + CONNS_POLL_MAX];
        int timeout = TICK_MS;
        p[0] = (struct pollfd){.fd = m.sfd, .events = POLLIN};
        int n = 1 + conns_watch(m.conns, p + 1, &timeout);
        if (poll(p, (nfds_t)n, timeout) > 0) {
            conns_ready(m.conns, p + 1, n - 1);
            if (p[0].revents)
                read_signals(&m);
        }
    }
    close(m.sfd);
    conns_free(m.conns);
    ctab_destroy(m.t);
    log_info("pool stopped");
    config_free(&m.cfg);
    if (m.prev_generation)
        config_free(&m.prev);
    return 0;
}

/* worker — one process of the pool. See worker.h.
 *
 * Why not the usual `while (FCGX_Accept_r(&req) >= 0)` loop: with `fastcgi_keep_conn on`, that
 * loop blocks reading the next request on the connection it holds, even while nginx keeps that
 * connection idle in its keepalive cache. So a worker polls every connection it owns (and its
 * channel from the master, which hands it connections: conns.h) and serves whichever has a
 * request: an idle kept connection costs a file descriptor, never a worker. libfcgi still does
 * all the record parsing — each connection has its own FCGX_Request with listen_sock = -1, so
 * libfcgi never accepts by itself.
 *
 * The connection table (conntab.h) is how the master and the worker agree on who serves what:
 * before it reads a request the worker claims itself (CLAIM_IDLE -> CLAIM_BUSY; failing means
 * the master reserved it for a connection on its channel, read first) and the connection
 * (OWNED -> SERVING; failing means the master moved it to an idle worker while this one was
 * busy: the stale copy is closed, without shutdown, since the connection lives on elsewhere).
 * After libfcgi has finished the request and freed its buffers, the connection is OWNED again.
 *
 * On SIGTERM the worker finishes the request it is serving. Retiring (a reload, or recycled
 * after max_requests), it hands every connection back to the master, which gives them to the
 * other workers with whatever nginx has sent on them meanwhile. When the pool stops (or the
 * master is gone) it drains instead: it answers every request sent on its connections, closes
 * each after its answer or once idle, and exits 0. */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "clk.h"
#include "fdpass.h"
#include "glue.h"
#include "log.h"
#include "service.h"

#define STOP_IDLE_MS 100 /* draining, a connection idle this long is closed */
#define RESERVED_WAIT_MS 100

typedef struct {
    FCGX_Request req;
    int64_t last_ms;
    uint32_t gen; /* of its table entry */
    bool open;
} conn;

static volatile sig_atomic_t stop_requested;
static pid_t master_pid;
static unsigned orphan_limit_s;

/* SIGTERM/SIGINT: from the master (stop, retirement), from a supervisor signalling the whole
 * group, or because the master died (PR_SET_PDEATHSIG). Then no master will SIGKILL a request
 * stuck past the shutdown timeout: an alarm does (its default action ends the process). */
static void on_term(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (getppid() != master_pid)
        alarm(orphan_limit_s);
}

typedef enum { RUNNING, RETIRING, DRAINING } worker_mode;

typedef struct {
    const worker_args *args;
    sb_slot *slot;
    ctab *t;
    int me; /* our slot */
    service *svc;
    arena *arena;
    conn *conns;       /* CTAB_MAX, indexed by table entry */
    int ids[CTAB_MAX]; /* the entries open here */
    int n_open;
    uint64_t served;
    worker_mode mode;
    bool master_gone;
    bool chan_ready; /* poll() said the channel has something: read it before serving */
} worker;

static uint64_t owned_word(const worker *w, int id)
{
    return ct_word(w->conns[id].gen, CT_OWNED, w->me);
}

static void unlist(worker *w, int id)
{
    w->conns[id].open = false;
    for (int i = 0; i < w->n_open; i++)
        if (w->ids[i] == id) {
            w->ids[i] = w->ids[--w->n_open];
            break;
        }
    atomic_store(&w->slot->connections, w->n_open);
}

/* The connection is no longer ours (moved, or handed back): our copy goes, the connection
 * does not. */
static void forget(worker *w, int id)
{
    conn *c = &w->conns[id];
    int fd = c->req.ipcFd;
    FCGX_Free(&c->req, 0);
    if (fd >= 0)
        close(fd);
    unlist(w, id);
}

/* We end the connection: libfcgi shuts it down and closes it (nginx sees the close), and the
 * master reclaims the entry. Only from OWNED, so never one the master is moving. */
static void end_conn(worker *w, int id)
{
    uint64_t own = owned_word(w, id);
    if (!ct_swap(w->t, id, own, ct_word(w->conns[id].gen, CT_SERVING, w->me))) {
        forget(w, id);
        return;
    }
    FCGX_Free(&w->conns[id].req, 1);
    ct_store(w->t, id, ct_word(w->conns[id].gen, CT_CLOSED, w->me));
    unlist(w, id);
}

static ct_claim idle_claim(const worker *w)
{
    return w->mode == RETIRING ? CLAIM_OFF : CLAIM_IDLE;
}

static void add_conn(worker *w, const fdpass_msg *m, int fd)
{
    if (m->id >= CTAB_MAX || ct_load(w->t, (int)m->id) != ct_word(m->gen, CT_OWNED, w->me)) {
        close(fd); /* not ours (any more): cannot happen while the master lives */
        return;
    }
    conn *c = &w->conns[m->id];
    if (c->open)
        forget(w, (int)m->id); /* a stale copy of the entry's earlier connection */
    FCGX_InitRequest(&c->req, -1, 0);
    c->req.ipcFd = fd;
    c->req.keepConnection = 1; /* so FCGX_Accept_r's opening Finish keeps our fd */
    c->gen = m->gen;
    c->last_ms = clk_mono_ms();
    c->open = true;
    w->ids[w->n_open++] = (int)m->id;
    atomic_store(&w->slot->connections, w->n_open);
}

/* Takes every connection waiting on the channel. -1 when the master is gone. */
static int take_from_master(worker *w)
{
    fdpass_msg m;
    int fd, got;
    while ((got = fdpass_recv(w->args->chan, &m, &fd)) == 1) {
        add_conn(w, &m, fd);
        if (m.reserved)
            ct_claim_swap(w->t, w->me, CLAIM_RESERVED, idle_claim(w));
    }
    return got;
}

/* Closes the copies of connections the master moved to another worker. */
static void drop_moved(worker *w)
{
    for (int i = w->n_open - 1; i >= 0; i--) {
        int id = w->ids[i];
        if (ct_load(w->t, id) != owned_word(w, id))
            forget(w, id);
    }
}

static void hand_back(worker *w)
{
    while (w->n_open > 0) {
        int id = w->ids[w->n_open - 1];
        ct_swap(w->t, id, owned_word(w, id), ct_word(w->conns[id].gen, CT_FREE, 0));
        forget(w, id);
    }
}

static void begin_stop(worker *w)
{
    if (w->mode != RUNNING)
        return;
    /* A stopping pool, or no master to hand connections to: drain them here. */
    bool drain = atomic_load(&w->t->stopping) || w->master_gone || getppid() != master_pid;
    w->mode = drain ? DRAINING : RETIRING;
    w->chan_ready = true; /* what the master sent before the stop is ours to serve or hand back */
    if (!drain)
        ct_claim_swap(w->t, w->me, CLAIM_IDLE, CLAIM_OFF); /* RESERVED: cleared on receipt */
    atomic_store(&w->slot->state, SB_STOPPING);
}

static int read_body(FCGX_Request *r, http_request *req, arena *a)
{
    long declared = glue_content_length(req);
    if (declared < 0 || declared > GLUE_MAX_BODY)
        return -1;
    unsigned char *body = arena_alloc(a, (size_t)declared + 1);
    if (!body)
        return -1;
    int got = declared ? FCGX_GetStr((char *)body, (int)declared, r->in) : 0;
    if (got < 0)
        return -1;
    body[got] = '\0';
    req->body = body;
    req->body_len = (size_t)got;
    return 0;
}

static void write_response(FCGX_Request *r, const http_request *req, const http_response *resp,
                           arena *a)
{
    size_t head_len = 0;
    char *head = glue_response_head(resp, a, &head_len);
    if (!head) {
        static const char oom[] = "Status: 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        FCGX_PutStr(oom, sizeof oom - 1, r->out);
        return;
    }
    FCGX_PutStr(head, (int)head_len, r->out);
    if (resp->body_len && strcmp(req->method, "HEAD") != 0)
        FCGX_PutStr(resp->body, (int)resp->body_len, r->out);
}

/* Serves the request waiting on entry ID. */
static void serve(worker *w, int id)
{
    conn *c = &w->conns[id];
    int64_t start = clk_mono_ms();
    atomic_store(&w->slot->busy_since_ms, start);
    atomic_store(&w->slot->state, SB_BUSY);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (FCGX_Accept_r(&c->req) < 0) { /* nginx closed it, or a protocol error: libfcgi closed */
        ct_store(w->t, id, ct_word(c->gen, CT_CLOSED, w->me));
        unlist(w, id);
        goto idle;
    }
    http_request req;
    http_response resp = {0};
    arena *a = w->arena;
    if (glue_request_from_params(c->req.envp, a, &req) != 0) {
        http_response_error(&resp, a, 500, "internal", "out of memory");
    } else {
        log_set_trace(http_header_get(&req, "traceparent"),
                      http_header_get(&req, "x-cloud-trace-context"), w->args->cfg->project);
        if (read_body(&c->req, &req, a) != 0) {
            http_response_error(&resp, a, 413, "too_large", "the body must be at most %d bytes",
                                GLUE_MAX_BODY);
            c->req.keepConnection = 0; /* its unread body must not be parsed as a next request */
        } else
            service_handle(w->svc, &req, a, &resp);
    }
    write_response(&c->req, &req, &resp, a);
    FCGX_Finish_r(&c->req); /* its buffers are freed: nothing of the next request is read */
    log_clear_trace();

    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    scoreboard_record(w->args->sb, sb_route_of(req.path ? req.path : "/"), resp.status, us);
    arena_reset(a);
    w->served++;
    atomic_fetch_add(&w->slot->requests, 1);
    c->last_ms = clk_mono_ms();
    if (c->req.ipcFd < 0) { /* nginx asked to close (no keep-conn), or the stream failed */
        ct_store(w->t, id, ct_word(c->gen, CT_CLOSED, w->me));
        unlist(w, id);
    } else {
        ct_store(w->t, id, owned_word(w, id));
        if (w->mode == DRAINING)
            end_conn(w, id);
    }
    if (w->served >= (uint64_t)w->args->cfg->max_requests && w->mode == RUNNING) {
        log_info("recycling after %llu requests", (unsigned long long)w->served);
        begin_stop(w);
    }
idle:
    atomic_store(&w->slot->busy_since_ms, 0);
    atomic_store(&w->slot->state, w->mode == RUNNING ? SB_IDLE : SB_STOPPING);
    ct_claim_set(w->t, w->me, idle_claim(w));
}

/* Serves entry ID if we may: false when the master has reserved us (the channel first). */
static bool try_serve(worker *w, int id)
{
    if (!ct_claim_swap(w->t, w->me, CLAIM_IDLE, CLAIM_BUSY))
        return false;
    uint64_t own = owned_word(w, id);
    if (!ct_swap(w->t, id, own, ct_word(w->conns[id].gen, CT_SERVING, w->me))) {
        ct_claim_set(w->t, w->me, CLAIM_IDLE); /* moved to an idle worker meanwhile */
        forget(w, id);
        return true;
    }
    serve(w, id);
    return true;
}

/* While reserved, only the channel: the connection the master is sending comes first. */
static void wait_reserved(worker *w)
{
    struct pollfd p = {.fd = w->args->chan, .events = POLLIN};
    poll(&p, 1, RESERVED_WAIT_MS);
}

static void loop(worker *w)
{
    struct pollfd pfd[CTAB_MAX + 1];
    int who[CTAB_MAX + 1];
    for (;;) {
        if (stop_requested || service_restart_wanted(w->svc))
            begin_stop(w);
        if (!w->master_gone && w->chan_ready) {
            w->chan_ready = false;
            if (take_from_master(w) < 0) {
                w->master_gone = true;
                begin_stop(w);
            }
        }
        if (!w->master_gone && ct_claim_of(w->t, w->me) == CLAIM_RESERVED) {
            wait_reserved(w);
            w->chan_ready = true;
            continue;
        }
        drop_moved(w);
        if (w->mode == RETIRING) {
            hand_back(w);
            return;
        }
        if (w->mode == DRAINING && w->n_open == 0)
            return;
        int n = 0;
        if (!w->master_gone) {
            pfd[n] = (struct pollfd){.fd = w->args->chan, .events = POLLIN};
            who[n++] = -1;
        }
        for (int i = 0; i < w->n_open; i++) {
            pfd[n] = (struct pollfd){.fd = w->conns[w->ids[i]].req.ipcFd, .events = POLLIN};
            who[n++] = w->ids[i];
        }
        int ready = poll(pfd, (nfds_t)n, w->mode == DRAINING ? STOP_IDLE_MS / 2 : 1000);
        if (ready < 0 && errno != EINTR)
            return;
        if (ready > 0 && !w->master_gone && pfd[0].revents) {
            w->chan_ready = true;
            if (w->mode == RUNNING)
                continue; /* what the master sent first: a connection it moved here waited */
        }
        for (int i = 0; ready > 0 && i < n; i++) {
            int id = who[i];
            if (!pfd[i].revents || id < 0 || !w->conns[id].open ||
                (stop_requested && w->mode == RUNNING))
                continue; /* a stop first: a retiring worker hands what is waiting back */
            if (!try_serve(w, id))
                break; /* reserved by the master: its connection first */
        }
        if (w->mode == DRAINING) {
            int64_t now = clk_mono_ms();
            for (int i = w->n_open - 1; i >= 0; i--)
                if (now - w->conns[w->ids[i]].last_ms >= STOP_IDLE_MS)
                    end_conn(w, w->ids[i]);
        }
    }
}

int worker_main(const worker_args *args)
{
    /* The master forks with every signal blocked: the handlers are in place before one can
     * arrive, so a SIGTERM to the group while a worker starts cannot kill it unprepared. */
    master_pid = getppid();
    orphan_limit_s = (unsigned)args->cfg->shutdown_timeout_s + 1;
    struct sigaction sa = {.sa_handler = on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (getppid() != master_pid) /* the master died meanwhile: the death signal may be lost */
        return 0;

    /* Test-only fault hook: a worker that cannot start, to drive the master's backoff. */
    const char *hooks = getenv("RETRAIN_TEST_HOOKS"), *fail = getenv("RETRAIN_TEST_WORKER_EXIT");
    if (hooks && strcmp(hooks, "1") == 0 && fail && *fail)
        return atoi(fail);

    worker w = {.args = args,
                .slot = &args->sb->slots[args->slot],
                .t = args->t,
                .me = args->slot,
                .conns = calloc(CTAB_MAX, sizeof(conn)),
                .chan_ready = true};
    log_severity level = LOG_INFO;
    log_severity_parse(args->cfg->log_level, &level);
    log_init("worker", level);
    if (FCGX_Init() != 0) {
        log_error("FCGX_Init failed");
        return WORKER_EXIT_INIT;
    }
    char err[512];
    if (!w.conns || !(w.arena = arena_new(16 * 1024)) ||
        !(w.svc = service_new(args->cfg, args->sb, err, sizeof err))) {
        log_error("worker cannot start: %s", w.conns && w.arena ? err : "out of memory");
        arena_free(w.arena);
        free(w.conns);
        return WORKER_EXIT_INIT;
    }
    atomic_store(&w.slot->state, SB_IDLE);
    ct_claim_set(w.t, w.me, CLAIM_IDLE);
    loop(&w);
    int rc = service_restart_wanted(w.svc) ? WORKER_EXIT_LEDGER : 0;
    ct_claim_set(w.t, w.me, CLAIM_OFF);
    while (w.n_open > 0)
        end_conn(&w, w.ids[w.n_open - 1]);
    service_free(w.svc);
    arena_free(w.arena);
    free(w.conns);
    return rc;
}

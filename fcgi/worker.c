/* worker — one process of the pool. See worker.h.
 *
 * Why not the usual `while (FCGX_Accept_r(&req) >= 0)` loop: with `fastcgi_keep_conn on`, that
 * loop blocks reading the next request on the connection it holds, even while nginx keeps that
 * connection idle in its keepalive cache. A pool of N workers then serves at most N upstream
 * connections, and a request nginx sends on an (N+1)th connection waits in the accept queue
 * until an idle one times out. So each worker polls the listening socket *and* every
 * connection it holds, and serves whichever has a request: an idle kept connection costs a
 * file descriptor, never a worker. libfcgi still does all the record parsing — each connection
 * has its own FCGX_Request with listen_sock = -1, so libfcgi never accepts by itself.
 *
 * On SIGTERM (stop, or retirement during a reload) the worker stops taking new connections
 * after draining the ones already queued, answers every request already sent to it, closes each
 * connection after its answer or once idle, and exits 0. */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "clk.h"
#include "glue.h"
#include "log.h"
#include "service.h"

#define MAX_CONNS 64
#define STOP_IDLE_MS 100 /* after SIGTERM, a connection idle this long is closed */

typedef struct {
    FCGX_Request req;
    int64_t last_ms;
    bool open;
} conn;

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    const worker_args *args;
    sb_slot *slot;
    service *svc;
    arena *arena;
    conn conns[MAX_CONNS];
    int n_open;
    uint64_t served;
    bool stopping;
} worker;

static void conn_close(worker *w, conn *c)
{
    FCGX_Free(&c->req, 1);
    c->open = false;
    w->n_open--;
    atomic_store(&w->slot->connections, w->n_open);
}

static void accept_one(worker *w)
{
    int fd = accept4(w->args->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return; /* EAGAIN: a sibling won the race */
    for (int i = 0; i < MAX_CONNS; i++) {
        conn *c = &w->conns[i];
        if (c->open)
            continue;
        FCGX_InitRequest(&c->req, -1, 0);
        c->req.ipcFd = fd;
        c->req.keepConnection = 1; /* so FCGX_Accept_r's opening Finish keeps our fd */
        c->last_ms = clk_mono_ms();
        c->open = true;
        w->n_open++;
        atomic_store(&w->slot->connections, w->n_open);
        return;
    }
    close(fd); /* unreachable: we stop polling the listener when full */
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

/* Serves the request waiting on C. */
static void serve(worker *w, conn *c)
{
    int64_t start = clk_mono_ms();
    atomic_store(&w->slot->busy_since_ms, start);
    atomic_store(&w->slot->state, SB_BUSY);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    if (FCGX_Accept_r(&c->req) < 0) { /* nginx closed it, or a protocol error: libfcgi closed */
        c->open = false;
        w->n_open--;
        atomic_store(&w->slot->connections, w->n_open);
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
    FCGX_Finish_r(&c->req);
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
        c->open = false;
        w->n_open--;
        atomic_store(&w->slot->connections, w->n_open);
    } else if (w->stopping) {
        conn_close(w, c);
    }
    if (w->served >= (uint64_t)w->args->cfg->max_requests && !w->stopping) {
        log_info("recycling after %llu requests", (unsigned long long)w->served);
        w->stopping = true;
    }
idle:
    atomic_store(&w->slot->busy_since_ms, 0);
    atomic_store(&w->slot->state, w->stopping ? SB_STOPPING : SB_IDLE);
}

static void begin_stop(worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    atomic_store(&w->slot->state, SB_STOPPING);
    /* Connections already queued were accepted by the kernel on our behalf: serve them. */
    while (w->n_open < MAX_CONNS) {
        int before = w->n_open;
        accept_one(w);
        if (w->n_open == before)
            break;
    }
}

static void loop(worker *w)
{
    struct pollfd pfd[MAX_CONNS + 1];
    conn *who[MAX_CONNS + 1];
    for (;;) {
        if (stop_requested || service_restart_wanted(w->svc))
            begin_stop(w);
        if (w->stopping && w->n_open == 0)
            return;
        int n = 0;
        if (!w->stopping && w->n_open < MAX_CONNS) {
            pfd[n] = (struct pollfd){.fd = w->args->listen_fd, .events = POLLIN};
            who[n++] = NULL;
        }
        for (int i = 0; i < MAX_CONNS; i++)
            if (w->conns[i].open) {
                pfd[n] = (struct pollfd){.fd = w->conns[i].req.ipcFd, .events = POLLIN};
                who[n++] = &w->conns[i];
            }
        int ready = poll(pfd, (nfds_t)n, w->stopping ? STOP_IDLE_MS / 2 : 1000);
        if (ready < 0 && errno != EINTR)
            return;
        for (int i = 0; ready > 0 && i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (!who[i])
                accept_one(w);
            else if (who[i]->open)
                serve(w, who[i]);
        }
        if (w->stopping) {
            int64_t now = clk_mono_ms();
            for (int i = 0; i < MAX_CONNS; i++)
                if (w->conns[i].open && now - w->conns[i].last_ms >= STOP_IDLE_MS)
                    conn_close(w, &w->conns[i]);
        }
    }
}

int worker_main(const worker_args *args)
{
    struct sigaction sa = {.sa_handler = on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    /* Test-only fault hook: a worker that cannot start, to drive the master's backoff. */
    const char *hooks = getenv("RETRAIN_TEST_HOOKS"), *fail = getenv("RETRAIN_TEST_WORKER_EXIT");
    if (hooks && strcmp(hooks, "1") == 0 && fail && *fail)
        return atoi(fail);

    worker w = {.args = args, .slot = &args->sb->slots[args->slot]};
    log_severity level = LOG_INFO;
    log_severity_parse(args->cfg->log_level, &level);
    log_init("worker", level);
    if (FCGX_Init() != 0) {
        log_error("FCGX_Init failed");
        return WORKER_EXIT_INIT;
    }
    char err[512];
    if (!(w.arena = arena_new(16 * 1024)) ||
        !(w.svc = service_new(args->cfg, args->sb, err, sizeof err))) {
        log_error("worker cannot start: %s", w.arena ? err : "out of memory");
        arena_free(w.arena);
        return WORKER_EXIT_INIT;
    }
    atomic_store(&w.slot->state, SB_IDLE);
    loop(&w);
    int rc = service_restart_wanted(w.svc) ? WORKER_EXIT_LEDGER : 0;
    for (int i = 0; i < MAX_CONNS; i++)
        if (w.conns[i].open)
            conn_close(&w, &w.conns[i]);
    service_free(w.svc);
    arena_free(w.arena);
    return rc;
}

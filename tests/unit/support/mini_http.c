/* mini_http — see mini_http.h. Blocking sockets polled in 50 ms slices so stop is prompt. */
#include "mini_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_SCRIPT 128
#define MAX_LOG 4096
#define REQ_MAX (1u << 20)
#define MAX_CONNS 256

struct mini_http {
    int fd;
    int port;
    char url[64];
    pthread_t thread;
    pthread_mutex_t mu;
    atomic_int stop;
    mini_reply script[MAX_SCRIPT];
    mini_reply fallback; /* what an unscripted request gets */
    bool used[MAX_SCRIPT];
    int n_script;
    long connections;
    long requests;
    char *log[MAX_LOG]; /* request lines */
    char *last;
    pthread_t conn_threads[MAX_CONNS];
    int n_conns;
};

typedef struct {
    mini_http *s;
    int fd;
} conn_arg;

static void die(const char *what)
{
    perror(what);
    abort();
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        die("strdup");
    return d;
}

/* Waits for FD to be readable; false when stopping. */
static bool wait_readable(mini_http *s, int fd)
{
    while (!s->stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, 50);
        if (rc > 0)
            return true;
    }
    return false;
}

static void sleep_slices(mini_http *s, int ms)
{
    while (ms > 0 && !s->stop) {
        int step = ms < 20 ? ms : 20;
        usleep((useconds_t)step * 1000);
        ms -= step;
    }
}

/* Reads one request into a malloc'd buffer; NULL when the peer closed or we stop. */
static char *read_request(mini_http *s, int fd, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        die("malloc");
    size_t need = 0; /* total bytes once the head is known */
    for (;;) {
        if (need && n >= need)
            break;
        if (!wait_readable(s, fd))
            break;
        if (n + 4096 + 1 > cap) {
            cap *= 2;
            char *grown = cap > 2 * REQ_MAX ? NULL : realloc(buf, cap);
            if (!grown)
                die("request too large"); /* aborts: nothing to free */
            buf = grown;
        }
        ssize_t got = recv(fd, buf + n, cap - n - 1, 0);
        if (got <= 0)
            break;
        n += (size_t)got;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && !need) {
            size_t body = 0;
            for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
                if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                    body = strtoul(h + 17, NULL, 10);
            need = (size_t)(end + 4 - buf) + body;
        }
    }
    if (!need || n < need) {
        free(buf);
        return NULL;
    }
    buf[need] = '\0';
    *len = need;
    return buf;
}

static bool path_matches(const char *req, const char *path)
{
    const char *sp = strchr(req, ' ');
    return !path || (sp && strncmp(sp + 1, path, strlen(path)) == 0);
}

/* The reply for REQ (copied out of the script), or the default. */
static mini_reply pick(mini_http *s, const char *req)
{
    mini_reply r = s->fallback;
    for (int i = 0; i < s->n_script; i++)
        if (!s->used[i] && path_matches(req, s->script[i].path)) {
            s->used[i] = true;
            return s->script[i];
        }
    return r;
}

/* Serves one connection until it closes; true when it is still open (never). */
static void serve(mini_http *s, int fd)
{
    for (;;) {
        size_t len;
        char *req = read_request(s, fd, &len);
        if (!req)
            return;
        pthread_mutex_lock(&s->mu);
        s->requests++;
        size_t line = strcspn(req, "\r");
        if (s->requests <= MAX_LOG) {
            s->log[s->requests - 1] = strndup(req, line);
        }
        free(s->last);
        s->last = req;
        mini_reply r = pick(s, req);
        pthread_mutex_unlock(&s->mu);
        sleep_slices(s, r.delay_ms);
        if (r.status == 0 || s->stop)
            return;
        const char *body = r.body ? r.body : "";
        char head[1024];
        int hn = snprintf(head, sizeof head,
                          "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
                          "%zu\r\n%s%s\r\n",
                          r.status, strlen(body), r.headers ? r.headers : "",
                          r.close ? "Connection: close\r\n" : "");
        if (send(fd, head, (size_t)hn, MSG_NOSIGNAL) < 0)
            return;
        for (size_t off = 0, blen = strlen(body); off < blen;) {
            ssize_t w = send(fd, body + off, blen - off, MSG_NOSIGNAL);
            if (w <= 0)
                return;
            off += (size_t)w;
        }
        if (r.close)
            return;
    }
}

static void *run_conn(void *arg)
{
    conn_arg *c = arg;
    serve(c->s, c->fd);
    close(c->fd);
    free(c);
    return NULL;
}

/* Accepts connections, each served by its own thread (a client may hold an idle keep-alive
 * connection while it opens another). */
static void *run(void *arg)
{
    mini_http *s = arg;
    while (wait_readable(s, s->fd)) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        conn_arg *c = malloc(sizeof *c);
        if (!c || s->n_conns == MAX_CONNS)
            die("mini_http: too many connections");
        *c = (conn_arg){s, fd};
        pthread_mutex_lock(&s->mu);
        s->connections++;
        pthread_mutex_unlock(&s->mu);
        if (pthread_create(&s->conn_threads[s->n_conns], NULL, run_conn, c) != 0)
            die("pthread_create");
        s->n_conns++;
    }
    for (int i = 0; i < s->n_conns; i++)
        pthread_join(s->conn_threads[i], NULL);
    return NULL;
}

mini_http *mini_http_start(void)
{
    mini_http *s = calloc(1, sizeof *s);
    if (!s)
        die("calloc");
    pthread_mutex_init(&s->mu, NULL);
    s->fallback = (mini_reply){.status = 200, .body = "{}"};
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0)
        die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0)
        die("bind/listen");
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    if (pthread_create(&s->thread, NULL, run, s) != 0)
        die("pthread_create");
    return s;
}

void mini_http_stop(mini_http *s)
{
    if (!s)
        return;
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < s->n_script; i++) {
        free((char *)s->script[i].body);
        free((char *)s->script[i].headers);
        free((char *)s->script[i].path);
    }
    for (long i = 0; i < s->requests && i < MAX_LOG; i++)
        free(s->log[i]);
    free(s->last);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int mini_http_port(const mini_http *s)
{
    return s->port;
}

const char *mini_http_url(const mini_http *s)
{
    return s->url;
}

void mini_http_push(mini_http *s, mini_reply r)
{
    pthread_mutex_lock(&s->mu);
    if (s->n_script == MAX_SCRIPT)
        die("mini_http script full");
    r.body = xstrdup(r.body);
    r.headers = r.headers ? xstrdup(r.headers) : NULL;
    r.path = r.path ? xstrdup(r.path) : NULL;
    s->script[s->n_script++] = r;
    pthread_mutex_unlock(&s->mu);
}

long mini_http_connections(mini_http *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->connections;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void mini_http_set_fallback(mini_http *s, mini_reply r)
{
    pthread_mutex_lock(&s->mu);
    s->fallback = r;
    pthread_mutex_unlock(&s->mu);
}

long mini_http_requests(mini_http *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

long mini_http_count(mini_http *s, const char *prefix)
{
    pthread_mutex_lock(&s->mu);
    long n = 0;
    for (long i = 0; i < s->requests && i < MAX_LOG; i++)
        if (s->log[i] && strncmp(s->log[i], prefix, strlen(prefix)) == 0)
            n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

char *mini_http_last_request(mini_http *s)
{
    pthread_mutex_lock(&s->mu);
    char *c = xstrdup(s->last);
    pthread_mutex_unlock(&s->mu);
    return c;
}

/* gcp-emulator — one loopback HTTP server that stands in for Google (see emu.h).
 *
 * This file owns the process: the command line, the libmicrohttpd server (an internal polling
 * thread with a small thread pool), request bodies (at most 1 MiB, a Cloud Storage upload's
 * EMU_STORAGE_OBJECT_MAX, else 413), dispatch to the services, fault injection and the control
 * endpoints every service shares:
 *
 *   POST /emulator/faults  faults.h: rates, latency, limited by paths, methods and routes;
 *                          replaces the settings ({} = no faults)
 *   POST /emulator/config  {"token_ttl_s", "upload_min_interval_ms", "job_clock_ms",
 *                           "storage_max_objects", "storage_max_bytes"}
 *   GET  /emulator/stats   {"requests":{route:n}, "attempts":{route:n}, "faults":{...},
 *                           "faults_by_route":{route:n}, "created":{...}, ...}
 *   POST /emulator/reset   every service back to its state at start, stats and faults cleared
 *
 * (The notice sink, /emulator/sink, is a service of its own: sink.c.)
 *
 * Faults (faults.h) are decided here before any service sees the request, on the route it is
 * for (routes.h: told from its method and path alone). A dropped request is never handled; a
 * truncated one is handled (its effect stays, as when a real answer is lost on the way) and its
 * body is cut in half with status 200; one dropped after handling keeps its effect and gets no
 * answer at all. */
#include "emu.h"
#include "faults.h"
#include "routes.h"
#include "sender.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EMU_BODY_MAX (1024 * 1024)
#define EMU_THREADS 8

static const emu_service *const services[] = {&emu_issuer_service, &emu_gauth_service,
                                              &emu_vertex_service, &emu_sink_service,
                                              &emu_storage_service};
#define N_SERVICES (sizeof services / sizeof services[0])

static char base_url[96];
static atomic_bool ready;

const char *emu_base_url(void)
{
    return base_url;
}

/* ---- request bodies ----------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    size_t limit; /* EMU_BODY_MAX, or EMU_STORAGE_OBJECT_MAX for a Cloud Storage upload */
    bool too_big;
} conn_body;

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    conn_body *b = *con_cls;
    if (b) {
        free(b->buf);
        free(b);
        *con_cls = NULL;
    }
}

static void body_append(conn_body *b, const char *data, size_t n)
{
    if (b->too_big || b->len + n > b->limit) {
        b->too_big = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->too_big = true;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

/* ---- stats -------------------------------------------------------------------------------- */

/* requests: by the route that answered (a service's, or fault.*); attempts: every request for a
 * Google method (routes.h), whatever its answer, so a test can count a client's calls. */
static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static emu_tally requests, attempts;

static void stats_count(emu_tally *t, const char *route)
{
    pthread_mutex_lock(&stats_mu);
    emu_tally_add(t, route);
    pthread_mutex_unlock(&stats_mu);
}

/* The W3C traceparent each request for a Google method carried, in order (the last TRACES_MAX):
 * GET /emulator/traces, so a test sees which trace a client's calls went on in. */
#define TRACES_MAX 1024
static json_t *traces;

static void traces_add(const char *route, const char *traceparent)
{
    pthread_mutex_lock(&stats_mu);
    if (!traces)
        traces = json_array();
    if (json_array_size(traces) >= TRACES_MAX)
        json_array_remove(traces, 0);
    json_array_append_new(traces, json_pack("{s:s, s:s}", "route", route, "traceparent",
                                            traceparent ? traceparent : ""));
    pthread_mutex_unlock(&stats_mu);
}

/* ---- control endpoints -------------------------------------------------------------------- */

static bool config_key_known(const char *key)
{
    for (size_t i = 0; i < N_SERVICES; i++)
        for (const char *const *k = services[i]->config_keys; k && *k; k++)
            if (strcmp(*k, key) == 0)
                return true;
    return false;
}

static void control_config(const emu_request *req, emu_response *resp)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (!config_key_known(key) || !json_is_integer(v) || json_integer_value(v) < 0) {
            emu_respond_error(resp, 400, "INVALID_ARGUMENT",
                              "unknown config \"%s\" or not a non-negative integer", key);
            json_decref(body);
            return;
        }
    }
    for (size_t i = 0; i < N_SERVICES; i++)
        if (services[i]->configure)
            services[i]->configure(body);
    json_decref(body);
    emu_respond_value(resp, 200, json_pack("{s:b}", "ok", 1));
}

static void control_stats(emu_response *resp)
{
    json_t *out = json_object();
    pthread_mutex_lock(&stats_mu);
    json_object_set_new(out, "requests", emu_tally_json(&requests));
    json_object_set_new(out, "attempts", emu_tally_json(&attempts));
    pthread_mutex_unlock(&stats_mu);
    emu_faults_stats(out);
    for (size_t i = 0; i < N_SERVICES; i++)
        if (services[i]->stats)
            services[i]->stats(out);
    emu_respond_value(resp, 200, out);
}

static void control_reset(emu_response *resp)
{
    for (size_t i = 0; i < N_SERVICES; i++)
        if (services[i]->reset)
            services[i]->reset();
    emu_faults_reset();
    pthread_mutex_lock(&stats_mu);
    requests.len = attempts.len = 0;
    json_array_clear(traces);
    pthread_mutex_unlock(&stats_mu);
    emu_respond_value(resp, 200, json_pack("{s:b}", "ok", 1));
}

static bool control_handle(const emu_request *req, emu_response *resp)
{
    bool post = strcmp(req->method, "POST") == 0;
    if (strcmp(req->path, "/emulator/faults") == 0 && post) {
        resp->route = "emulator.faults";
        emu_faults_set(req, resp);
    } else if (strcmp(req->path, "/emulator/config") == 0 && post) {
        resp->route = "emulator.config";
        control_config(req, resp);
    } else if (strcmp(req->path, "/emulator/stats") == 0 && strcmp(req->method, "GET") == 0) {
        resp->route = "emulator.stats";
        control_stats(resp);
    } else if (strcmp(req->path, "/emulator/traces") == 0 && strcmp(req->method, "GET") == 0) {
        resp->route = "emulator.traces";
        pthread_mutex_lock(&stats_mu);
        json_t *list = traces ? json_deep_copy(traces) : json_array();
        pthread_mutex_unlock(&stats_mu);
        emu_respond_value(resp, 200, json_pack("{s:o}", "traces", list));
    } else if (strcmp(req->path, "/emulator/reset") == 0 && post) {
        resp->route = "emulator.reset";
        control_reset(resp);
    } else {
        return false;
    }
    return true;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static const char *req_header(const emu_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->impl, MHD_HEADER_KIND, name);
}

static const char *req_query(const emu_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->impl, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct {
    emu_header_fn fn;
    void *ctx;
} header_walk;

static enum MHD_Result header_walk_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    header_walk *w = cls;
    w->fn(w->ctx, key, value ? value : "");
    return MHD_YES;
}

static void req_each_header(const emu_request *r, emu_header_fn fn, void *ctx)
{
    header_walk w = {.fn = fn, .ctx = ctx};
    MHD_get_connection_values(r->impl, MHD_HEADER_KIND, header_walk_one, &w);
}

static void dispatch(const emu_request *req, emu_response *resp)
{
    if (!atomic_load(&ready)) {
        emu_respond_error(resp, 503, "UNAVAILABLE", "the emulator is starting");
        return;
    }
    if (control_handle(req, resp))
        return;
    const char *route = emu_route_of(req->method, req->path);
    if (route) {
        stats_count(&attempts, route);
        traces_add(route, req->header(req, "traceparent"));
    }
    emu_fault fault = emu_fault_pick(req->method, req->path, route);
    if (emu_fault_answer_for(fault, route, resp))
        return;
    bool handled = false;
    for (size_t i = 0; i < N_SERVICES && !handled; i++)
        handled = services[i]->handle(req, resp);
    if (!handled) {
        resp->route = "not_found";
        emu_respond_error(resp, 404, "NOT_FOUND", "The requested URL %s was not found.", req->path);
    }
    if (fault == EMU_FAULT_TRUNCATE && resp->body) {
        resp->status = 200; /* a body may be bytes (a Cloud Storage download): body_len first */
        resp->body_len = (resp->body_len ? resp->body_len : strlen(resp->body)) / 2;
        if (!resp->body_len) {
            free(resp->body);
            resp->body = NULL;
        }
    } else if (fault == EMU_FAULT_DROP_AFTER) {
        resp->drop = true;
        resp->route = "fault.dropped_after";
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls, (void)version;
    conn_body *b = *con_cls;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            return MHD_NO;
        b->limit = strcmp(method, "POST") == 0 && strncmp(url, "/upload/storage/v1/", 19) == 0
                       ? (size_t)EMU_STORAGE_OBJECT_MAX
                       : EMU_BODY_MAX;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_data_size) {
        body_append(b, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    emu_request req = {.method = method,
                       .path = url,
                       .body = b->buf ? b->buf : "",
                       .body_len = b->len,
                       .header = req_header,
                       .query = req_query,
                       .each_header = req_each_header,
                       .impl = c};
    emu_response resp = {.status = 500};
    if (b->too_big) {
        const char *route = emu_route_of(method, url);
        if (route) /* an attempt too, though no fault or service sees it */
            stats_count(&attempts, route);
        resp.route = "too_large";
        if (route && strncmp(route, "storage.", 8) == 0)
            emu_respond_gcs_error(&resp, 413, NULL, "uploadTooLarge", NULL, NULL,
                                  "Payload Too Large: this emulator takes at most %zu bytes here.",
                                  b->limit);
        else
            emu_respond_error(&resp, 413, "INVALID_ARGUMENT",
                              "Request payload size exceeds the limit");
    } else {
        dispatch(&req, &resp);
    }
    stats_count(&requests, resp.route ? resp.route : "unnamed");
    if (resp.drop) {
        free(resp.body);
        free(resp.content_type_owned);
        return MHD_NO;
    }
    size_t len = resp.body ? (resp.body_len ? resp.body_len : strlen(resp.body)) : 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, resp.body ? resp.body : (void *)"",
                                        resp.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(resp.body);
        free(resp.content_type_owned);
        return MHD_NO;
    }
    if (resp.content_type_owned) /* a stored object's own type, even when it is empty */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type_owned);
    else if (resp.body || resp.content_type) /* none on an empty answer (the sink's 204) */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp.content_type ? resp.content_type : "application/json");
    free(resp.content_type_owned);
    for (int i = 0; i < resp.n_headers; i++)
        MHD_add_response_header(r, resp.headers[i].name, resp.headers[i].value);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return ret;
}

/* libmicrohttpd's own complaints (a dropped request is one) as log lines like the rest. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_emit(LOG_NOTICE, NULL, "libmicrohttpd: %s", msg);
}

/* ---- command line ------------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fputs("usage: gcp-emulator --port N [--bind 127.0.0.1] [--state-dir DIR] [--job-clock-ms MS]\n"
          "                    [--jwks-max-age S] [--audience AUD] [--service-account EMAIL]\n"
          "                    [--project ID]\n"
          "       gcp-emulator mint --url http://127.0.0.1:N [--claims JSON] [--header JSON]\n"
          "                    [--sign rs256|none|hs256-pubkey|other-key|small-key] [--ttl S]\n"
          "       gcp-emulator send --inbox DIR --target URL --issuer URL [--cacert FILE]\n"
          "                    [--bucket B] [--audience AUD] [--once] [--interval-ms N]\n"
          "Serves Google's OIDC issuer, metadata server, OAuth token endpoint, Vertex AI v1\n"
          "and Cloud Storage objects (JSON API v1) on loopback; prints\n"
          "\"gcp-emulator listening on URL\" when ready.\n",
          to);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, emu_options *opt)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"state-dir", required_argument, NULL, 's'},
        {"job-clock-ms", required_argument, NULL, 'j'},
        {"jwks-max-age", required_argument, NULL, 'm'},
        {"audience", required_argument, NULL, 'a'},
        {"service-account", required_argument, NULL, 'e'},
        {"project", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool have_port = false;
    int ch;
    long v;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if (parse_long(optarg, 0, 65535, &v) != 0)
                return -1;
            opt->port = (int)v;
            have_port = true;
            break;
        case 'b':
            opt->bind = optarg;
            break;
        case 's':
            opt->state_dir = optarg;
            break;
        case 'j':
            if (parse_long(optarg, 0, 3600000, &opt->job_clock_ms) != 0)
                return -1;
            break;
        case 'm':
            if (parse_long(optarg, 0, 86400 * 7, &opt->jwks_max_age) != 0)
                return -1;
            break;
        case 'a':
            opt->audience = optarg;
            break;
        case 'e':
            opt->service_account = optarg;
            break;
        case 'P':
            opt->project = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    return have_port && optind == argc ? 0 : -1;
}

/* Only loopback: the emulator hands out tokens that a real network must never see. */
static int make_bind_addr(const char *bind, struct sockaddr_storage *ss, bool *v6)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (strcmp(bind, "localhost") == 0)
        bind = "127.0.0.1";
    if (inet_pton(AF_INET, bind, &in4->sin_addr) == 1) {
        if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
            return -1;
        in4->sin_family = AF_INET;
        *v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, bind, &in6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return -1;
        in6->sin6_family = AF_INET6;
        *v6 = true;
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "mint") == 0)
        return emu_mint_cli(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "send") == 0)
        return emu_send_cli(argc - 1, argv + 1);
    log_init("gcp-emulator", LOG_INFO);
    emu_options opt = {.bind = "127.0.0.1",
                       .job_clock_ms = 1000,
                       .jwks_max_age = 300,
                       .audience = "https://127.0.0.1:8443/",
                       .service_account = "eventarc-trigger@test-project.iam.gserviceaccount.com",
                       .project = "test-project"};
    if (parse_args(argc, argv, &opt) != 0) {
        usage(stderr);
        return 2;
    }
    struct sockaddr_storage ss;
    bool v6;
    if (make_bind_addr(opt.bind, &ss, &v6) != 0) {
        fprintf(stderr, "gcp-emulator: --bind %s is not a loopback address\n", opt.bind);
        return 2;
    }
    if (v6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)opt.port);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)opt.port);
    if (sodium_init() < 0)
        return 1;

    /* The server threads inherit this mask, so only sigwait() below sees SIGTERM/SIGINT. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)opt.port, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)EMU_THREADS, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "gcp-emulator: cannot listen on %s port %d\n", opt.bind, opt.port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : opt.port;
    char host[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET,
              v6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                 : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
              host, sizeof host);
    snprintf(base_url, sizeof base_url, v6 ? "http://[%s]:%d" : "http://%s:%d", host, port);
    opt.port = port;

    int rc = 0;
    size_t started = 0;
    for (; started < N_SERVICES; started++)
        if (services[started]->init && services[started]->init(&opt) != 0) {
            fprintf(stderr, "gcp-emulator: service %s failed to start\n", services[started]->name);
            rc = 1;
            break;
        }
    if (rc == 0) {
        atomic_store(&ready, true);
        printf("gcp-emulator listening on %s\n", base_url);
        fflush(stdout);
        log_info("listening on %s", base_url);
        int sig;
        sigwait(&stop, &sig);
        log_info("stopping on signal %d", sig);
    }
    MHD_stop_daemon(d);
    while (started-- > 0)
        if (services[started]->shutdown)
            services[started]->shutdown();
    return rc;
}

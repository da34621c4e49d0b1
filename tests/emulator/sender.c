/* sender — `gcp-emulator send`: the local Eventarc (see sender.h).
 *
 *   gcp-emulator send --inbox DIR --target URL --issuer URL [--cacert FILE] [--bucket B]
 *                     [--audience AUD] [--once] [--interval-ms N] [--settle-ms N]
 *                     [--max-attempts N] [--connect-to HOST:PORT:CONNECT-HOST:CONNECT-PORT]
 *                     [--poll]
 *
 * The inbox is watched by sender_watch.h: a file is delivered once its size and mtime have not
 * moved for --settle-ms. Files already there at start are sent too: an event's id is stable for
 * an object generation, so the ledger answers "duplicate" for those it has recorded, as for an
 * Eventarc redelivery.
 *
 * Delivery is one POST per object generation in CloudEvents binary mode, with an ID token minted
 * by the emulator's issuer for the pool's audience (cached until five minutes before expiry,
 * never logged). 429 and 5xx (and transport errors) are retried with doubling backoff like a
 * Pub/Sub push subscription, bounded by --max-attempts; any other answer is final. One JSON log
 * line per delivery. */
#include "emu.h"
#include "sender.h"
#include "sender_watch.h"

#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SND_ANSWER_MAX (64 * 1024)
#define SND_TOKEN_TTL_S 3600
#define SND_TOKEN_MARGIN_MS (5 * 60 * 1000)

typedef struct {
    const char *inbox, *target, *issuer, *cacert, *bucket, *audience, *connect_to;
    bool once, poll_only;
    long interval_ms, settle_ms, max_attempts, min_backoff_ms, max_backoff_ms;
} snd_options;

typedef struct {
    snd_options opt;
    snd_watch watch;
    CURL *curl;
    struct curl_slist *connect_to; /* --connect-to, for deliveries only */
    char *token;                   /* the cached ID token; wiped when replaced */
    int64_t token_expires_ms;
    long delivered, failed;
} snd_state;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (!stopping && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- HTTP ----------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len;
    long retry_after_s;
} snd_answer;

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    snd_answer *a = userp;
    size_t add = size * n;
    if (a->len + add > SND_ANSWER_MAX)
        return 0;
    char *nb = realloc(a->buf, a->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + a->len, data, add);
    a->buf = nb;
    a->len += add;
    a->buf[a->len] = '\0';
    return add;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    snd_answer *a = userp;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0)
        a->retry_after_s = strtol(data + 12, NULL, 10);
    return len;
}

static void answer_reset(snd_answer *a)
{
    free(a->buf);
    *a = (snd_answer){0};
}

/* Sets up the shared handle for one request; TLS is verified against --cacert when given. */
static void curl_prepare(snd_state *st, const char *url, struct curl_slist *hdrs, const char *body,
                         snd_answer *ans)
{
    CURL *c = st->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, ans);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT,
                     "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)");
    if (st->opt.cacert)
        curl_easy_setopt(c, CURLOPT_CAINFO, st->opt.cacert);
}

static void token_drop(snd_state *st)
{
    if (st->token) {
        sodium_memzero(st->token, strlen(st->token));
        free(st->token);
        st->token = NULL;
    }
}

/* The cached ID token, minted again by the issuer when it is close to expiry. NULL on failure
 * (logged without the token). */
static const char *id_token(snd_state *st)
{
    int64_t now = emu_now_ms();
    if (st->token && now < st->token_expires_ms - SND_TOKEN_MARGIN_MS)
        return st->token;
    token_drop(st);
    char url[512];
    snprintf(url, sizeof url, "%s/emulator/oidc/mint", st->opt.issuer);
    json_t *req =
        json_pack("{s:{s:s}, s:i}", "claims", "aud", st->opt.audience, "ttl_s", SND_TOKEN_TTL_S);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    snd_answer ans = {0};
    long status = 0;
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (body && hdrs) {
        curl_prepare(st, url, hdrs, body, &ans);
        rc = curl_easy_perform(st->curl);
        curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
    }
    json_t *answer = ans.buf ? json_loads(ans.buf, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(answer, "token"));
    if (rc == CURLE_OK && status == 200 && tok) {
        st->token = strdup(tok);
        st->token_expires_ms = now + SND_TOKEN_TTL_S * 1000L;
    } else {
        log_emit(LOG_ERROR,
                 json_pack("{s:s, s:i}", "issuer", st->opt.issuer, "http_status", (int)status),
                 "cannot mint an ID token: %s",
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "the issuer refused");
    }
    if (ans.buf)
        sodium_memzero(ans.buf, ans.len);
    json_decref(answer);
    answer_reset(&ans);
    curl_slist_free_all(hdrs);
    free(body);
    return st->token;
}

/* ---- delivery ------------------------------------------------------------------------- */

static struct curl_slist *event_headers(const snd_object *o, const snd_attrs *at, const char *token)
{
    char line[1400];
    struct curl_slist *h = NULL, *t;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        snprintf(line, sizeof line, __VA_ARGS__);                                                  \
        if (!(t = curl_slist_append(h, line)))                                                     \
            goto oom;                                                                              \
        h = t;                                                                                     \
    } while (0)
    ADD("Content-Type: application/json");
    ADD("ce-specversion: 1.0");
    ADD("ce-id: %s", at->id);
    ADD("ce-source: %s", at->source);
    ADD("ce-type: " SND_EVENT_TYPE);
    ADD("ce-subject: %s", at->subject);
    ADD("ce-time: %s", at->time);
    ADD("ce-bucket: %s", o->bucket);
    ADD("Expect:"); /* no 100-continue round trip */
#undef ADD
    /* The token goes in last, straight from its buffer, and the line is wiped after. */
    size_t n = strlen(token) + sizeof "Authorization: Bearer ";
    char *auth = malloc(n);
    if (!auth)
        goto oom;
    snprintf(auth, n, "Authorization: Bearer %s", token);
    t = curl_slist_append(h, auth);
    sodium_memzero(auth, n);
    free(auth);
    if (!t)
        goto oom;
    return t;
oom:
    curl_slist_free_all(h);
    return NULL;
}

static bool retryable(long status)
{
    return status == 429 || status >= 500;
}

/* Delivers one generation of FILE; returns true when the endpoint acknowledged it (2xx). */
static bool deliver(snd_state *st, const snd_file *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", st->opt.inbox, file->name);
    snd_object o = {.bucket = st->opt.bucket,
                    .name = file->name,
                    .generation = file->mtime_us,
                    .metageneration = 1,
                    .updated_ms = file->mtime_us / 1000};
    snd_attrs at;
    snd_status s = snd_check_name(file->name);
    if (s == SND_OK)
        s = snd_digest_file(path, &o);
    if (s == SND_OK)
        s = snd_event_attrs(&o, &at);
    json_t *data = s == SND_OK ? snd_object_data(&o) : NULL;
    char *body = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!body) {
        log_emit(LOG_ERROR,
                 json_pack("{s:s, s:s}", "object", file->name, "error",
                           snd_status_name(s == SND_OK ? SND_ERR_NOMEM : s)),
                 "cannot describe %s; not sent", file->name);
        return false;
    }
    long status = 0, attempt = 0;
    const char *why = NULL; /* why the last attempt got no answer; NULL when it got one */
    snd_answer ans = {0};
    int64_t started = emu_mono_ms(), backoff = st->opt.min_backoff_ms;
    for (attempt = 1; attempt <= st->opt.max_attempts && !stopping; attempt++) {
        answer_reset(&ans);
        status = 0;
        const char *token = id_token(st);
        struct curl_slist *hdrs = token ? event_headers(&o, &at, token) : NULL;
        why = !token ? "no ID token from the issuer" : !hdrs ? "out of memory" : NULL;
        if (hdrs) {
            curl_prepare(st, st->opt.target, hdrs, body, &ans);
            if (st->connect_to)
                curl_easy_setopt(st->curl, CURLOPT_CONNECT_TO, st->connect_to);
            CURLcode rc = curl_easy_perform(st->curl);
            curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
            curl_slist_free_all(hdrs);
            if (rc != CURLE_OK)
                why = curl_easy_strerror(rc);
        }
        if (!why && !retryable(status))
            break;
        if (attempt == st->opt.max_attempts)
            break;
        int64_t wait = backoff;
        if (ans.retry_after_s > 0 && ans.retry_after_s * 1000 > wait)
            wait = ans.retry_after_s * 1000;
        if (wait > st->opt.max_backoff_ms)
            wait = st->opt.max_backoff_ms;
        log_emit(LOG_NOTICE,
                 json_pack("{s:s, s:s, s:i, s:i, s:I}", "object", file->name, "ce_id", at.id,
                           "http_status", (int)status, "attempt", (int)attempt, "retry_in_ms",
                           (json_int_t)wait),
                 "delivery of %s not acknowledged (%s); retrying", file->name,
                 why ? why : "a retryable status");
        sleep_ms(wait);
        backoff = backoff * 2 > st->opt.max_backoff_ms ? st->opt.max_backoff_ms : backoff * 2;
    }
    if (attempt > st->opt.max_attempts)
        attempt = st->opt.max_attempts;
    bool acked = !why && status >= 200 && status < 300;
    json_t *answer = ans.buf ? json_loads(ans.buf, 0, NULL) : NULL;
    char gen[24];
    snprintf(gen, sizeof gen, "%" PRId64, o.generation);
    json_t *fields =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I}", "object", file->name, "bucket", o.bucket,
                  "ce_id", at.id, "generation", gen, "http_status", (int)status, "attempts",
                  (int)attempt, "latency_ms", (json_int_t)(emu_mono_ms() - started));
    const char *word = json_string_value(json_object_get(answer, "status"));
    const char *resource = json_string_value(json_object_get(answer, "resource"));
    if (!word) { /* an error answer: the pool's {"error":"unauthorized"}, Google's {"error":{}} */
        const json_t *e = json_object_get(answer, "error");
        word = json_is_object(e) ? json_string_value(json_object_get(e, "status"))
                                 : json_string_value(e);
    }
    if (word)
        json_object_set_new(fields, "status", json_string(word));
    if (resource)
        json_object_set_new(fields, "resource", json_string(resource));
    if (why)
        json_object_set_new(fields, "error", json_string(why));
    log_emit(acked ? LOG_INFO : LOG_ERROR, fields, "%s %s: %ld %s", acked ? "delivered" : "failed",
             file->name, status, word ? word : (why ? why : ""));
    json_decref(answer);
    answer_reset(&ans);
    free(body);
    return acked;
}

/* One pass: rescan, then deliver each file that has settled since it last changed. Returns how
 * many files are still waiting (changed, not yet settled). */
static size_t tick(snd_state *st)
{
    int64_t now = emu_mono_ms();
    snd_watch_scan(&st->watch, now);
    size_t waiting = 0;
    for (size_t i = 0; i < st->watch.n_files && !stopping; i++) {
        snd_file *f = &st->watch.files[i];
        switch (snd_watch_state(&st->watch, f, now, st->opt.settle_ms)) {
        case SND_FILE_SENT:
            continue;
        case SND_FILE_SETTLING:
            waiting++;
            continue;
        case SND_FILE_READY:
            break;
        }
        if (deliver(st, f))
            st->delivered++;
        else
            st->failed++;
        /* Final either way: a refused generation is not sent again until the file changes. */
        snd_watch_mark_sent(f);
    }
    return waiting;
}

static int run(snd_state *st)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    snd_watch_open(&st->watch, st->opt.inbox, st->opt.poll_only);
    bool inotify = st->watch.inotify_fd >= 0;
    if (!inotify && !st->opt.poll_only)
        log_warning("inotify unavailable (%s); polling every %ld ms", strerror(errno),
                    st->opt.interval_ms);
    log_emit(LOG_INFO,
             json_pack("{s:s, s:s, s:s, s:b}", "inbox", st->opt.inbox, "target", st->opt.target,
                       "bucket", st->opt.bucket, "inotify", inotify),
             "sending %s events for files under %s to %s", SND_EVENT_TYPE, st->opt.inbox,
             st->opt.target);
    while (!stopping) {
        size_t waiting = tick(st);
        if (st->opt.once && waiting == 0)
            break;
        if (!stopping) /* settling files are looked at again soon */
            snd_watch_wait(&st->watch, waiting ? 100 : (int)st->opt.interval_ms);
    }
    log_emit(LOG_INFO,
             json_pack("{s:I, s:I}", "delivered", (json_int_t)st->delivered, "failed",
                       (json_int_t)st->failed),
             "sender stopping");
    snd_watch_close(&st->watch);
    return st->opt.once && st->failed ? 1 : 0;
}

/* ---- command line --------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fputs("usage: gcp-emulator send --inbox DIR --target URL --issuer URL [--cacert FILE]\n"
          "                         [--bucket B] [--audience AUD] [--once] [--interval-ms N]\n"
          "                         [--settle-ms N] [--max-attempts N]\n"
          "                         [--connect-to HOST:PORT:CONNECT-HOST:CONNECT-PORT] [--poll]\n"
          "Watches DIR (recursively) and delivers each new or changed file, once its size has\n"
          "settled, as a signed google.cloud.storage.object.v1.finalized CloudEvent to URL, as\n"
          "Eventarc does. The object name is the path under DIR; the bucket defaults to\n"
          "acme-data, the token audience to URL. --once sends what is there and exits (1 when a\n"
          "delivery was refused). --connect-to (curl's syntax) reaches the target at another\n"
          "address while TLS still checks the target's name (docker-compose: 127.0.0.1:8443\n"
          "served by the nginx container). --poll scans every --interval-ms without inotify\n"
          "(what happens anyway where inotify is unavailable, e.g. some network file systems).\n",
          to);
}

static int parse_args(int argc, char **argv, snd_options *o)
{
    static const struct option longopts[] = {
        {"inbox", required_argument, NULL, 'i'},
        {"target", required_argument, NULL, 't'},
        {"issuer", required_argument, NULL, 's'},
        {"cacert", required_argument, NULL, 'c'},
        {"bucket", required_argument, NULL, 'b'},
        {"audience", required_argument, NULL, 'a'},
        {"once", no_argument, NULL, 'o'},
        {"interval-ms", required_argument, NULL, 'n'},
        {"settle-ms", required_argument, NULL, 'S'},
        {"max-attempts", required_argument, NULL, 'm'},
        {"connect-to", required_argument, NULL, 'C'},
        {"poll", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        long v = 0;
        if (ch == 'n' || ch == 'S' || ch == 'm') {
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < (ch == 'S' ? 0 : 1) || v > 3600000)
                return -1;
        }
        switch (ch) {
        case 'i':
            o->inbox = optarg;
            break;
        case 't':
            o->target = optarg;
            break;
        case 's':
            o->issuer = optarg;
            break;
        case 'c':
            o->cacert = optarg;
            break;
        case 'b':
            o->bucket = optarg;
            break;
        case 'a':
            o->audience = optarg;
            break;
        case 'C':
            o->connect_to = optarg;
            break;
        case 'P':
            o->poll_only = true;
            break;
        case 'o':
            o->once = true;
            break;
        case 'n':
            o->interval_ms = v;
            break;
        case 'S':
            o->settle_ms = v;
            break;
        case 'm':
            o->max_attempts = v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (!o->inbox || !o->target || !o->issuer || optind != argc)
        return -1;
    if (!o->audience)
        o->audience = o->target;
    return snd_check_name(o->bucket) == SND_OK ? 0 : -1;
}

int emu_send_cli(int argc, char **argv)
{
    snd_state st = {.opt = {.bucket = "acme-data",
                            .interval_ms = 1000,
                            .settle_ms = 500,
                            .max_attempts = 6,
                            .min_backoff_ms = 1000,
                            .max_backoff_ms = 30000},
                    .watch = {.inotify_fd = -1}};
    if (parse_args(argc, argv, &st.opt) != 0) {
        usage(stderr);
        return 2;
    }
    struct stat sb;
    if (stat(st.opt.inbox, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "gcp-emulator send: --inbox %s is not a directory\n", st.opt.inbox);
        return 2;
    }
    log_init("sender", LOG_INFO);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    st.curl = curl_easy_init();
    if (st.opt.connect_to && !(st.connect_to = curl_slist_append(NULL, st.opt.connect_to)))
        return 1;
    int rc = st.curl ? run(&st) : 1;
    curl_slist_free_all(st.connect_to);
    token_drop(&st);
    curl_easy_cleanup(st.curl);
    curl_global_cleanup();
    return rc;
}

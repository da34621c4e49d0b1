/* loadgen — a bounded, counting HTTP load driver for the end-to-end tests.
 *
 * Sends --requests requests over --connections keep-alive connections (libcurl multi), each
 * built from the given headers and body with placeholders filled in: {n} the request's index,
 * {d} the index modulo --distinct (so 2,000 requests can carry 200 distinct event ids). It
 * stops after the count or --max-seconds, whichever comes first, and prints one JSON object:
 * requests sent, HTTP statuses, the "status" word of each JSON answer, retries and the rate.
 * With --retry-503 K a 503 answer is sent again (up to K times, --retry-delay-ms apart, 50 by
 * default), as Pub/Sub would; --redeliver K resends anything but a 2xx, transport errors
 * included, the way a push subscription redelivers. --rate R paces new requests to R a second,
 * for a steady load that lasts.
 * With --log FILE each final answer is written as a line "d http_status answer_status".
 * "slowest_ms" is the longest a request waited for its final answer (sent to answered, the
 * last attempt), for tests that bound how long a cheap request may wait behind others. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HEADERS 32

typedef struct {
    const char *url, *cacert, *body, *log_path;
    const char *headers[MAX_HEADERS];
    int n_headers, connections, requests, distinct, retry_503, retry_delay_ms, http2;
    int redeliver; /* resend anything but a 2xx (transport errors too), as Pub/Sub does */
    double rate;   /* new requests per second at most; 0: as fast as the connections go */
    double max_seconds;
} options;

typedef struct {
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    char *resp;
    size_t resp_len;
    int index, tries;
    double due; /* > 0: a delivery waiting to be sent again at this time */
} slot;

static json_t *http_counts, *answer_counts;
static FILE *log_file;

static char *fill(const char *tmpl, int n, int d)
{
    size_t cap = strlen(tmpl) + 64, len = 0;
    char *out = malloc(cap);
    for (const char *p = tmpl; *p; p++) {
        char num[24] = "";
        if (p[0] == '{' && (p[1] == 'n' || p[1] == 'd') && p[2] == '}') {
            snprintf(num, sizeof num, "%d", p[1] == 'n' ? n : d);
            p += 2;
        }
        size_t add = num[0] ? strlen(num) : 1;
        if (len + add + 1 > cap) {
            cap = cap * 2 + add;
            char *bigger = realloc(out, cap);
            if (!bigger) {
                free(out);
                return NULL;
            }
            out = bigger;
        }
        if (num[0])
            memcpy(out + len, num, add);
        else
            out[len] = *p;
        len += add;
    }
    out[len] = '\0';
    return out;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t n = size * nmemb;
    s->resp = realloc(s->resp, s->resp_len + n + 1);
    memcpy(s->resp + s->resp_len, ptr, n);
    s->resp_len += n;
    s->resp[s->resp_len] = '\0';
    return n;
}

static void bump(json_t *counts, const char *key)
{
    json_t *v = json_object_get(counts, key);
    json_object_set_new(counts, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static void prepare(slot *s, const options *o, CURLM *multi, int index)
{
    int d = o->distinct > 0 ? index % o->distinct : index;
    s->index = index;
    s->resp_len = 0;
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    for (int i = 0; i < o->n_headers; i++) {
        char *h = fill(o->headers[i], index, d);
        s->hdrs = curl_slist_append(s->hdrs, h);
        free(h);
    }
    free(s->body);
    s->body = o->body ? fill(o->body, index, d) : NULL;
    CURL *e = s->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     o->http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    if (o->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
    if (s->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
    }
    curl_multi_add_handle(multi, e);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fputs("usage: loadgen --url URL [--cacert FILE] [--connections C] [--requests N]\n"
          "               [--max-seconds S] [--header 'K: V']... [--body TEXT|@FILE]\n"
          "               [--distinct D] [--retry-503 K] [--redeliver K] [--retry-delay-ms MS]\n"
          "               [--rate PER_SECOND] [--http2] [--log FILE]\n",
          f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    options o = {.connections = 32, .requests = 100, .max_seconds = 60, .retry_delay_ms = 50};
    static const struct option longopts[] = {{"url", 1, 0, 'u'},
                                             {"cacert", 1, 0, 'c'},
                                             {"connections", 1, 0, 'C'},
                                             {"requests", 1, 0, 'n'},
                                             {"max-seconds", 1, 0, 't'},
                                             {"header", 1, 0, 'H'},
                                             {"body", 1, 0, 'b'},
                                             {"distinct", 1, 0, 'd'},
                                             {"retry-503", 1, 0, 'r'},
                                             {"http2", 0, 0, '2'},
                                             {"log", 1, 0, 'l'},
                                             {"help", 0, 0, 'h'},
                                             {"retry-delay-ms", 1, 0, 'D'},
                                             {"redeliver", 1, 0, 'R'},
                                             {"rate", 1, 0, 'Q'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "H:", longopts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o.url = optarg;
            break;
        case 'c':
            o.cacert = optarg;
            break;
        case 'C':
            o.connections = atoi(optarg);
            break;
        case 'n':
            o.requests = atoi(optarg);
            break;
        case 't':
            o.max_seconds = atof(optarg);
            break;
        case 'H':
            if (o.n_headers == MAX_HEADERS) {
                fprintf(stderr, "loadgen: too many headers\n");
                return 2;
            }
            o.headers[o.n_headers++] = optarg;
            break;
        case 'b':
            o.body = optarg[0] == '@' ? slurp(optarg + 1) : optarg;
            break;
        case 'd':
            o.distinct = atoi(optarg);
            break;
        case 'r':
            o.retry_503 = atoi(optarg);
            break;
        case 'D':
            o.retry_delay_ms = atoi(optarg);
            break;
        case 'R':
            o.redeliver = atoi(optarg);
            break;
        case 'Q':
            o.rate = atof(optarg);
            break;
        case '2':
            o.http2 = 1;
            break;
        case 'l':
            o.log_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o.url || o.connections < 1 || o.requests < 1 || o.max_seconds <= 0) {
        usage(stderr);
        return 2;
    }
    if (o.log_path && !(log_file = fopen(o.log_path, "w"))) {
        perror(o.log_path);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o.connections);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o.connections);
    http_counts = json_object();
    answer_counts = json_object();
    int n_slots = o.connections < o.requests ? o.connections : o.requests;
    slot *slots = calloc((size_t)n_slots, sizeof *slots);
    int next = 0, completed = 0, errors = 0, retries = 0, running = 0;
    double slowest = 0;
    double start = now_s(), deadline = start + o.max_seconds;
    for (int i = 0; i < n_slots; i++) {
        slots[i].easy = curl_easy_init();
        prepare(&slots[i], &o, multi, next++);
    }
    int active = n_slots;
    while (active > 0) {
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            slot *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            double took = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_TOTAL_TIME, &took);
            curl_multi_remove_handle(multi, msg->easy_handle);
            bool expired = now_s() > deadline;
            bool ok2xx = msg->data.result == CURLE_OK && code >= 200 && code < 300;
            bool again = (msg->data.result == CURLE_OK && code == 503 && s->tries < o.retry_503) ||
                         (!ok2xx && s->tries < o.redeliver);
            if (again && !expired) {
                s->tries++;
                retries++;
                s->due = now_s() + o.retry_delay_ms / 1000.0; /* as Pub/Sub backs off */
                continue;
            }
            if (took > slowest)
                slowest = took;
            char key[16];
            snprintf(key, sizeof key, "%ld", msg->data.result == CURLE_OK ? code : 0L);
            if (msg->data.result != CURLE_OK)
                errors++;
            bump(http_counts, key);
            const char *word =
                msg->data.result == CURLE_OK ? "-" : curl_easy_strerror(msg->data.result);
            json_t *ans = s->resp_len ? json_loads(s->resp, 0, NULL) : NULL;
            json_t *st = ans ? json_object_get(ans, "status") : NULL;
            if (json_is_string(st))
                word = json_string_value(st);
            else if (ans && json_is_string(json_object_get(ans, "error")))
                word = json_string_value(json_object_get(ans, "error"));
            bump(answer_counts, word);
            if (log_file)
                fprintf(log_file, "%d %s %s\n", o.distinct > 0 ? s->index % o.distinct : s->index,
                        key, word);
            json_decref(ans);
            completed++;
            s->tries = 0;
            if (next < o.requests && !expired && o.rate > 0) {
                s->index = next; /* paced: sent when its turn comes */
                s->due = start + next++ / o.rate;
            } else if (next < o.requests && !expired) {
                prepare(s, &o, multi, next++);
            } else {
                active--;
            }
        }
        double t = now_s();
        for (int i = 0; i < n_slots; i++)
            if (slots[i].due > 0 && slots[i].due <= t) {
                slots[i].due = 0;
                prepare(&slots[i], &o, multi, slots[i].index);
            }
        if (active > 0)
            curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
    double secs = now_s() - start;
    json_t *report =
        json_pack("{s:i, s:i, s:i, s:i, s:O, s:O, s:f, s:f, s:i}", "requests", next, "completed",
                  completed, "errors", errors, "retries", retries, "http", http_counts, "answers",
                  answer_counts, "seconds", secs, "rps", secs > 0 ? completed / secs : 0.0,
                  "slowest_ms", (int)(slowest * 1000));
    char *text = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
    puts(text);
    free(text);
    json_decref(report);
    for (int i = 0; i < n_slots; i++) {
        curl_easy_cleanup(slots[i].easy);
        curl_slist_free_all(slots[i].hdrs);
        free(slots[i].body);
        free(slots[i].resp);
    }
    free(slots);
    json_decref(http_counts);
    json_decref(answer_counts);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    if (log_file)
        fclose(log_file);
    return completed == o.requests ? 0 : 1;
}

/* faults — see faults.h. */
#include "faults.h"
#include "routes.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FAULT_MAX_ROUTES 16

/* The HTTP methods a fault can be limited to, one bit each. */
static const char *const method_names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
#define N_METHODS (sizeof method_names / sizeof method_names[0])

typedef struct {
    double rate_503, rate_429, drop_rate, drop_after_rate, truncate_rate;
    long latency_ms;
    char paths[128];
    unsigned methods;                     /* bits of method_names; 0 = every method */
    const char *routes[FAULT_MAX_ROUTES]; /* static names (routes.h) */
    int n_routes;                         /* 0 = every route */
    long limit;                           /* at most this many faults; 0 = no limit */
    long injected;                        /* faults injected under these settings */
    uint64_t rng;
} fault_settings;

static pthread_mutex_t faults_mu = PTHREAD_MUTEX_INITIALIZER;
static fault_settings faults = {.paths = "/v1/"};
static long fault_counts[5]; /* 503, 429, dropped, truncated, dropped after handling */
static emu_tally fault_routes;

/* splitmix64: small, seedable, good enough to spread fault draws. */
static double fault_draw(fault_settings *f)
{
    uint64_t z = (f->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ull << 53);
}

static unsigned method_bit(const char *method)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (strcmp(method, method_names[i]) == 0)
            return 1u << i;
    return 0;
}

/* Whether F's selectors take this request: path prefix, method, route; never /emulator/. */
static bool fault_applies(const fault_settings *f, const char *method, const char *path,
                          const char *route)
{
    if (strncmp(path, "/emulator/", 10) == 0 || strncmp(path, f->paths, strlen(f->paths)) != 0)
        return false;
    if (f->methods && !(f->methods & method_bit(method)))
        return false;
    if (!f->n_routes)
        return true;
    for (int i = 0; route && i < f->n_routes; i++)
        if (strcmp(route, f->routes[i]) == 0)
            return true;
    return false;
}

/* One draw decides between 503 and 429, then one each for the other kinds. */
static emu_fault fault_draw_kind(fault_settings *f)
{
    if (f->limit && f->injected >= f->limit)
        return EMU_FAULT_NONE;
    double r = fault_draw(f);
    if (r < f->rate_503)
        return EMU_FAULT_503;
    if (r < f->rate_503 + f->rate_429)
        return EMU_FAULT_429;
    if (fault_draw(f) < f->drop_rate)
        return EMU_FAULT_DROP;
    if (fault_draw(f) < f->truncate_rate)
        return EMU_FAULT_TRUNCATE;
    if (fault_draw(f) < f->drop_after_rate)
        return EMU_FAULT_DROP_AFTER;
    return EMU_FAULT_NONE;
}

/* Decides this request's fault; sleeps the configured latency outside the lock. */
emu_fault emu_fault_pick(const char *method, const char *path, const char *route)
{
    pthread_mutex_lock(&faults_mu);
    if (!fault_applies(&faults, method, path, route)) {
        pthread_mutex_unlock(&faults_mu);
        return EMU_FAULT_NONE;
    }
    long latency = faults.latency_ms;
    emu_fault k = fault_draw_kind(&faults);
    if (k != EMU_FAULT_NONE) {
        faults.injected++;
        fault_counts[k - 1]++;
        emu_tally_add(&fault_routes, route ? route : "other");
    }
    pthread_mutex_unlock(&faults_mu);
    if (latency > 0) /* a pool thread sleeps: at most a minute */
        usleep((useconds_t)(latency > 60000 ? 60000 : latency) * 1000);
    return k;
}

/* 429 as Google's front end answers a rate quota: google.rpc.Status with an ErrorInfo. */
static void answer_429(emu_response *resp)
{
    static const char msg[] = "Quota exceeded for aiplatform.googleapis.com/"
                              "resource_management_requests_per_minute_per_region.";
    json_t *err =
        json_pack("{s:{s:i, s:s, s:s, s:[{s:s, s:s, s:s, s:{s:s, s:s}}]}}", "error", "code", 429,
                  "message", msg, "status", "RESOURCE_EXHAUSTED", "details", "@type",
                  "type.googleapis.com/google.rpc.ErrorInfo", "reason", "RATE_LIMIT_EXCEEDED",
                  "domain", "googleapis.com", "metadata", "service", "aiplatform.googleapis.com",
                  "quota_metric", "aiplatform.googleapis.com/resource_management_requests");
    emu_respond_value(resp, 429, err);
}

bool emu_fault_answer(emu_fault k, emu_response *resp)
{
    return emu_fault_answer_for(k, NULL, resp);
}

bool emu_fault_answer_for(emu_fault k, const char *route, emu_response *resp)
{
    bool gcs = route && strncmp(route, "storage.", 8) == 0;
    switch (k) {
    case EMU_FAULT_503:
        resp->route = "fault.503";
        if (gcs)
            emu_respond_gcs_error(resp, 503, NULL, "backendError", NULL, NULL,
                                  "We encountered an internal error. Please try again.");
        else
            emu_respond_error(resp, 503, "UNAVAILABLE", "The service is currently unavailable.");
        return true;
    case EMU_FAULT_429:
        resp->route = "fault.429";
        if (gcs)
            emu_respond_gcs_error(resp, 429, "usageLimits", "rateLimitExceeded", NULL, NULL,
                                  "The rate of requests exceeds the rate limit. Please reduce "
                                  "your request rate. See https://cloud.google.com/storage/docs/"
                                  "gcs429.");
        else
            answer_429(resp);
        return true;
    case EMU_FAULT_DROP:
        resp->route = "fault.dropped";
        resp->drop = true;
        return true;
    default:
        return false;
    }
}

/* ---- settings ----------------------------------------------------------------------------- */

static bool rate_ok(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (d < 0 || d > 1)
        return false;
    *out = d;
    return true;
}

/* "GET" or ["GET","POST"] into F's method bits. */
static bool methods_ok(const json_t *v, fault_settings *f)
{
    if (json_is_string(v))
        return (f->methods = method_bit(json_string_value(v))) != 0;
    if (!json_is_array(v) || !json_array_size(v))
        return false;
    size_t i;
    const json_t *m;
    json_array_foreach(v, i, m)
    {
        unsigned bit = json_is_string(m) ? method_bit(json_string_value(m)) : 0;
        if (!bit)
            return false;
        f->methods |= bit;
    }
    return true;
}

static bool route_add(const json_t *v, fault_settings *f)
{
    const char *name = json_is_string(v) ? emu_route_canonical(json_string_value(v)) : NULL;
    if (!name || f->n_routes == FAULT_MAX_ROUTES)
        return false;
    f->routes[f->n_routes++] = name;
    return true;
}

/* "customJobs.get" or a list of route names (routes.h) into F. */
static bool routes_ok(const json_t *v, fault_settings *f)
{
    if (json_is_string(v))
        return route_add(v, f);
    if (!json_is_array(v) || !json_array_size(v))
        return false;
    size_t i;
    const json_t *r;
    json_array_foreach(v, i, r)
    {
        if (!route_add(r, f))
            return false;
    }
    return true;
}

static bool paths_ok(const json_t *v, fault_settings *f)
{
    if (!json_is_string(v) || json_string_length(v) >= sizeof f->paths)
        return false;
    snprintf(f->paths, sizeof f->paths, "%s", json_string_value(v));
    return true;
}

static bool count_ok(const json_t *v, long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (long)json_integer_value(v);
    return true;
}

/* Applies member KEY = V to F. Returns 1 when applied, 0 on a bad value, -1 on an unknown key. */
static int setting_apply(const char *key, const json_t *v, fault_settings *f)
{
    const struct {
        const char *key;
        double *rate;
    } rates[] = {
        {"rate_503", &f->rate_503},           {"rate_429", &f->rate_429},
        {"drop_rate", &f->drop_rate},         {"drop_after_rate", &f->drop_after_rate},
        {"truncate_rate", &f->truncate_rate},
    };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (strcmp(key, rates[i].key) == 0)
            return rate_ok(v, rates[i].rate);
    if (strcmp(key, "latency_ms") == 0)
        return count_ok(v, &f->latency_ms);
    if (strcmp(key, "limit") == 0)
        return count_ok(v, &f->limit);
    if (strcmp(key, "seed") == 0)
        return json_is_integer(v) && ((f->rng = (uint64_t)json_integer_value(v)), true);
    if (strcmp(key, "paths") == 0)
        return paths_ok(v, f);
    if (strcmp(key, "methods") == 0)
        return methods_ok(v, f);
    if (strcmp(key, "routes") == 0)
        return routes_ok(v, f);
    return -1;
}

/* BODY into OUT; on a bad member answers 400 naming it and returns false. */
static bool settings_parse(const json_t *body, fault_settings *out, emu_response *resp)
{
    fault_settings f = {.paths = "/v1/"};
    f.rng = (uint64_t)emu_now_ms() ^ ((uint64_t)getpid() << 32);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        int rc = setting_apply(key, v, &f);
        if (rc <= 0) {
            emu_respond_error(resp, 400, "INVALID_ARGUMENT",
                              rc < 0 ? "unknown fault setting \"%s\"" : "bad value for \"%s\"",
                              key);
            return false;
        }
    }
    if (f.n_routes && !json_object_get(body, "paths"))
        f.paths[0] = '\0'; /* the routes say where */
    *out = f;
    return true;
}

void emu_faults_set(const emu_request *req, emu_response *resp)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    fault_settings f;
    bool ok = settings_parse(body, &f, resp);
    json_decref(body);
    if (!ok)
        return;
    pthread_mutex_lock(&faults_mu);
    faults = f;
    pthread_mutex_unlock(&faults_mu);
    emu_respond_value(resp, 200, json_pack("{s:b}", "ok", 1));
}

void emu_faults_reset(void)
{
    pthread_mutex_lock(&faults_mu);
    faults = (fault_settings){.paths = "/v1/"};
    memset(fault_counts, 0, sizeof fault_counts);
    fault_routes.len = 0;
    pthread_mutex_unlock(&faults_mu);
}

void emu_faults_stats(json_t *out)
{
    pthread_mutex_lock(&faults_mu);
    json_t *f = json_pack(
        "{s:I, s:I, s:I, s:I, s:I}", "unavailable_503", (json_int_t)fault_counts[0],
        "exhausted_429", (json_int_t)fault_counts[1], "dropped", (json_int_t)fault_counts[2],
        "truncated", (json_int_t)fault_counts[3], "dropped_after", (json_int_t)fault_counts[4]);
    json_t *by_route = emu_tally_json(&fault_routes);
    pthread_mutex_unlock(&faults_mu);
    json_object_set_new(out, "faults", f);
    json_object_set_new(out, "faults_by_route", by_route);
}

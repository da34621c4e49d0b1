/* faults — see faults.h. */
#include "faults.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    double rate_503, rate_429, drop_rate, drop_after_rate, truncate_rate;
    long latency_ms;
    char paths[128];
    uint64_t rng;
} fault_settings;

static pthread_mutex_t faults_mu = PTHREAD_MUTEX_INITIALIZER;
static fault_settings faults = {.paths = "/v1/"};
static long fault_counts[5]; /* 503, 429, dropped, truncated, dropped after handling */

/* splitmix64: small, seedable, good enough to spread fault draws. */
static double fault_draw(void)
{
    uint64_t z = (faults.rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ull << 53);
}

/* Decides this request's fault; sleeps the configured latency outside the lock. */
emu_fault emu_fault_pick(const char *path)
{
    pthread_mutex_lock(&faults_mu);
    if (strncmp(path, faults.paths, strlen(faults.paths)) != 0 ||
        strncmp(path, "/emulator/", 10) == 0) {
        pthread_mutex_unlock(&faults_mu);
        return EMU_FAULT_NONE;
    }
    long latency = faults.latency_ms;
    emu_fault k = EMU_FAULT_NONE;
    double r = fault_draw();
    if (r < faults.rate_503)
        k = EMU_FAULT_503;
    else if (r < faults.rate_503 + faults.rate_429)
        k = EMU_FAULT_429;
    else if (fault_draw() < faults.drop_rate)
        k = EMU_FAULT_DROP;
    else if (fault_draw() < faults.truncate_rate)
        k = EMU_FAULT_TRUNCATE;
    else if (fault_draw() < faults.drop_after_rate)
        k = EMU_FAULT_DROP_AFTER;
    if (k != EMU_FAULT_NONE)
        fault_counts[k - 1]++;
    pthread_mutex_unlock(&faults_mu);
    if (latency > 0) /* a pool thread sleeps: at most a minute */
        usleep((useconds_t)(latency > 60000 ? 60000 : latency) * 1000);
    return k;
}

static bool rate_ok(const json_t *v, double *out)
{
    if (!v)
        return true;
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (d < 0 || d > 1)
        return false;
    *out = d;
    return true;
}

void emu_faults_set(const emu_request *req, emu_response *resp)
{
    json_t *body = emu_body_object(req, resp);
    if (!body)
        return;
    fault_settings f = {.paths = "/v1/"};
    f.rng = (uint64_t)emu_now_ms() ^ ((uint64_t)getpid() << 32);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool ok = true;
        if (strcmp(key, "rate_503") == 0)
            ok = rate_ok(v, &f.rate_503);
        else if (strcmp(key, "rate_429") == 0)
            ok = rate_ok(v, &f.rate_429);
        else if (strcmp(key, "drop_rate") == 0)
            ok = rate_ok(v, &f.drop_rate);
        else if (strcmp(key, "drop_after_rate") == 0)
            ok = rate_ok(v, &f.drop_after_rate);
        else if (strcmp(key, "truncate_rate") == 0)
            ok = rate_ok(v, &f.truncate_rate);
        else if (strcmp(key, "latency_ms") == 0)
            ok = json_is_integer(v) && (f.latency_ms = (long)json_integer_value(v)) >= 0;
        else if (strcmp(key, "seed") == 0)
            ok = json_is_integer(v) && ((f.rng = (uint64_t)json_integer_value(v)), true);
        else if (strcmp(key, "paths") == 0)
            ok = json_is_string(v) && json_string_length(v) < sizeof f.paths &&
                 snprintf(f.paths, sizeof f.paths, "%s", json_string_value(v)) >= 0;
        else {
            emu_respond_error(resp, 400, "INVALID_ARGUMENT", "unknown fault setting \"%s\"", key);
            json_decref(body);
            return;
        }
        if (!ok) {
            emu_respond_error(resp, 400, "INVALID_ARGUMENT", "bad value for \"%s\"", key);
            json_decref(body);
            return;
        }
    }
    json_decref(body);
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
    pthread_mutex_unlock(&faults_mu);
}

void emu_faults_stats(json_t *out)
{
    pthread_mutex_lock(&faults_mu);
    json_t *f = json_pack(
        "{s:I, s:I, s:I, s:I, s:I}", "unavailable_503", (json_int_t)fault_counts[0],
        "exhausted_429", (json_int_t)fault_counts[1], "dropped", (json_int_t)fault_counts[2],
        "truncated", (json_int_t)fault_counts[3], "dropped_after", (json_int_t)fault_counts[4]);
    pthread_mutex_unlock(&faults_mu);
    json_object_set_new(out, "faults", f);
}

/* bench_vertex — Vertex client calls per second against the local emulator, with the worker's
 * kept-alive connection and with a new connection for every call, side by side.
 *
 *   bench_vertex [--emulator PATH] [--url URL] [--seconds S] [--json FILE]
 *
 * Starts PATH (default build/gcp-emulator) on a free loopback port, or uses a running emulator
 * at URL (then EMULATOR_STATIC_TOKEN must be exported to both). Creates one custom job, then
 * calls customJobs.get on it for S seconds (default 2, at most 200000 calls) in each mode, the
 * two modes taking turns in 4 rounds, and prints calls/s and the ratio reuse / new-connection. The
 * emulator speaks plain HTTP on loopback, so the figure is the TCP-setup saving only; against
 * Google a new connection also costs a TLS handshake, which reuse saves too. The emulator this
 * program started is stopped on every exit path.
 *
 * Build: cc -D_GNU_SOURCE -Isrc bench/bench_vertex.c build/libretrain.a
 *           -lcurl -ljansson -lsodium -lssl -lcrypto -lpthread -lm */
#include "gauth.h"
#include "fetch.h"
#include "log.h"
#include "vertex.h"
#include "vertex_body.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CALLS 200000
#define ROUNDS 4
#define BENCH_TOKEN "bench-static-token"

static pid_t emu_pid;

static void stop_emulator(void)
{
    if (emu_pid > 0) {
        kill(emu_pid, SIGTERM);
        waitpid(emu_pid, NULL, 0);
        emu_pid = 0;
    }
}

static void on_signal(int sig)
{
    (void)sig;
    exit(1); /* runs stop_emulator through atexit */
}

/* Starts the emulator and reads "gcp-emulator listening on URL" from its stdout. */
static int start_emulator(const char *path, char *url, size_t urllen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    emu_pid = fork();
    if (emu_pid < 0)
        return -1;
    if (emu_pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        setenv("EMULATOR_STATIC_TOKEN", BENCH_TOKEN, 1);
        int devnull = open("/dev/null", O_WRONLY); /* its request log is not the figure */
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        execl(path, path, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[256];
    int rc = -1;
    while (out && fgets(line, sizeof line, out)) {
        if (sscanf(line, "gcp-emulator listening on %200s", url) == 1 && strlen(url) < urllen) {
            rc = 0;
            break;
        }
    }
    if (out)
        fclose(out); /* the emulator ignores a closed stdout after the banner */
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    long calls, errors, connects;
    double seconds;
} run;

/* Adds S seconds of calls (at most MAX_CALLS in all) to R. */
static void measure(vtx_client *vtx, fetch_client *http, const char *name, double seconds, run *r)
{
    long before = fetch_connects(http);
    double t0 = now_s(), end = t0 + seconds;
    while (r->calls + r->errors < MAX_CALLS && now_s() < end) {
        vtx_result res;
        if (vtx_get_custom_job(vtx, name, &res) == VTX_OK)
            r->calls++;
        else
            r->errors++;
        vtx_result_clear(&res);
    }
    r->seconds += now_s() - t0;
    r->connects += fetch_connects(http) - before;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_vertex [--emulator PATH] [--url URL] [--seconds S] [--json FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *emulator = "build/gcp-emulator", *json_path = NULL;
    char url[256] = "";
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--emulator") && i + 1 < argc)
            emulator = argv[++i];
        else if (!strcmp(argv[i], "--url") && i + 1 < argc)
            snprintf(url, sizeof url, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json_path = argv[++i];
        else
            return usage();
    }
    if (seconds <= 0 || seconds > 60)
        return usage();
    log_init("bench_vertex", LOG_ERROR);
    atexit(stop_emulator);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!url[0] && start_emulator(emulator, url, sizeof url) != 0) {
        fprintf(stderr, "bench_vertex: could not start %s\n", emulator);
        return 1;
    }

    fetch_client *http = fetch_new();
    const char *token = getenv("EMULATOR_STATIC_TOKEN");
    gauth_options opt = {.static_token = token && *token ? token : BENCH_TOKEN, .http = http};
    gauth *auth;
    char err[256], endpoint[300];
    if (gauth_open(&opt, &auth, err, sizeof err) != GAUTH_OK) {
        fprintf(stderr, "bench_vertex: %s\n", err);
        return 1;
    }
    snprintf(endpoint, sizeof endpoint, "%s/v1", url);
    vertex_config cfg = {.endpoint = endpoint,
                         .project = "test-project",
                         .region = "us-central1",
                         .deadline_ms = 5000};
    vtx_client *vtx = vtx_client_new(&cfg, auth, http, err, sizeof err);
    if (!vtx) {
        fprintf(stderr, "bench_vertex: %s\n", err);
        return 1;
    }
    vtx_worker_pool pool = {.machine_type = "n1-standard-4",
                            .replica_count = 1,
                            .image_uri = "us-docker.pkg.dev/test-project/train/trainer:1"};
    json_t *spec = vtx_job_spec_json(&pool, err, sizeof err);
    json_t *job = spec ? vtx_custom_job_json("bench", spec, NULL, err, sizeof err) : NULL;
    json_decref(spec);
    vtx_result created;
    if (!job || vtx_create_custom_job(vtx, job, "retrain-event", "bench", &created) != VTX_OK) {
        fprintf(stderr, "bench_vertex: could not create the job: %s\n",
                job ? created.message : err);
        return 1;
    }
    json_decref(job);
    char *name = strdup(json_string_value(json_object_get(created.resource, "name")));
    vtx_result_clear(&created);

    run warm = {0}, reuse = {0}, fresh = {0};
    measure(vtx, http, name, 0.2, &warm);
    /* The modes take turns, so that a change in the machine's load weighs on both alike. */
    for (int i = 0; i < ROUNDS; i++) {
        fetch_set_reuse(http, true);
        measure(vtx, http, name, seconds / ROUNDS, &reuse);
        fetch_set_reuse(http, false);
        measure(vtx, http, name, seconds / ROUNDS, &fresh);
    }
    double reuse_rate = reuse.calls / reuse.seconds, fresh_rate = fresh.calls / fresh.seconds;
    double ratio = fresh_rate > 0 ? reuse_rate / fresh_rate : 0;

    double load[1] = {-1};
    getloadavg(load, 1); /* other work on the machine moves these figures a lot */
    printf("bench_vertex: customJobs.get against %s, %.1f s each, load average %.2f\n", url,
           seconds, load[0]);
    printf("  %-26s %10s %8s %12s %10s\n", "mode", "calls", "errors", "connections", "calls/s");
    printf("  %-26s %10ld %8ld %12ld %10.0f\n", "kept-alive connection", reuse.calls, reuse.errors,
           reuse.connects, reuse_rate);
    printf("  %-26s %10ld %8ld %12ld %10.0f\n", "new connection per call", fresh.calls,
           fresh.errors, fresh.connects, fresh_rate);
    printf("  reuse / new-connection ratio: %.2fx\n", ratio);
    if (json_path) {
        json_t *j = json_pack("{s:s, s:f, s:{s:I, s:I, s:f}, s:{s:I, s:I, s:f}, s:f}", "call",
                              "customJobs.get", "seconds", seconds, "reuse", "calls",
                              (json_int_t)reuse.calls, "connections", (json_int_t)reuse.connects,
                              "calls_per_s", reuse_rate, "new_connection", "calls",
                              (json_int_t)fresh.calls, "connections", (json_int_t)fresh.connects,
                              "calls_per_s", fresh_rate, "ratio", ratio);
        json_object_set_new(j, "load_average", json_real(load[0]));
        if (!j || json_dump_file(j, json_path, JSON_INDENT(2)) != 0)
            fprintf(stderr, "bench_vertex: could not write %s\n", json_path);
        json_decref(j);
    }
    free(name);
    vtx_client_free(vtx);
    gauth_close(auth);
    fetch_free(http);
    return reuse.errors + fresh.errors == 0 ? 0 : 1;
}

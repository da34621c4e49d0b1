/* bench_ledger — what de-duplication costs, beside the cost of one durable write.
 *
 *   bench_ledger [--pg URL] [--seconds S] [--dir DIR] [--json FILE]
 *
 * For SQLite (a file in DIR, default /tmp) and, given --pg, PostgreSQL, with 1, 4 and 16 worker
 * processes: claims/s of new events (each one durable insert) and duplicate lookups/s (claims of
 * events already done, the common redelivery). The baseline is a plain INSERT in autocommit into
 * a SQLite file in the same DIR with WAL and synchronous=FULL, from one process: the raw cost of
 * one fsync'd row on that disk. Each load runs S seconds (default 1.5). Prints a table with
 * ratios to the baseline; --json writes the figures too. The PostgreSQL URL never appears in the
 * output.
 *
 * Build: cc -D_GNU_SOURCE -Isrc bench/bench_ledger.c build/libretrain.a
 *           -lsqlite3 -lpq -lsodium -ljansson -lm */
#include "ledger.h"

#include <errno.h>
#include <jansson.h>
#include <postgresql/libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DUP_KEYS 1000
#define MAX_PROCS 16

static const int proc_counts[] = {1, 4, 16};
#define NPROC_COUNTS ((int)(sizeof proc_counts / sizeof proc_counts[0]))

typedef struct {
    int64_t deadline_ms;
    long ops[MAX_PROCS];
    long errors[MAX_PROCS];
} shared_counts;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* ---- stores ------------------------------------------------------------------------------- */

typedef struct {
    const char *dir;
    const char *pg; /* server URL or NULL */
    PGconn *admin;  /* creates and drops the per-run schemas */
    int schemas;
} stores;

/* A fresh, empty store for one measurement, written into URL. */
static int fresh_store(stores *s, bool pg, const char *tag, int procs, char *url, size_t cap)
{
    if (!pg) {
        snprintf(url, cap, "sqlite://%s/%s-%d.db", s->dir, tag, procs);
        return 0;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA bench_ledger_%d_%d", (int)getpid(), ++s->schemas);
    PGresult *r = PQexec(s->admin, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    snprintf(url, cap, "%s%soptions=-csearch_path%%3Dbench_ledger_%d_%d", s->pg,
             strchr(s->pg, '?') ? "&" : "?", (int)getpid(), s->schemas);
    return ok ? 0 : -1;
}

static void drop_stores(stores *s)
{
    for (int i = 1; s->admin && i <= s->schemas; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS bench_ledger_%d_%d CASCADE", (int)getpid(),
                 i);
        PQclear(PQexec(s->admin, sql));
    }
}

/* ---- loads -------------------------------------------------------------------------------- */

static void make_key(const char *prefix, int worker, long i, char id[64],
                     char key[LEDGER_KEY_HEX + 1])
{
    snprintf(id, 64, "%s-%d-%ld", prefix, worker, i);
    ledger_key("//bench/source", id, key);
}

/* One worker process: claims until the deadline; DUPS: keys of the done set, else new keys. */
static void worker(const char *url, int w, bool dups, shared_counts *sc, int gate)
{
    ledger *l;
    char err[LEDGER_ERR_MAX];
    if (ledger_create(url, &l, err) != LEDGER_OK) /* the first of them makes the fresh store */
        _exit(2);
    char c;
    if (read(gate, &c, 1) != 0)
        _exit(2);
    unsigned seed = (unsigned)(w * 7919 + 1);
    long ops = 0, errors = 0;
    for (long i = 0; now_ms() < sc->deadline_ms; i++) {
        char id[64], key[LEDGER_KEY_HEX + 1];
        if (dups)
            make_key("done", 0, rand_r(&seed) % DUP_KEYS, id, key);
        else
            make_key("new", w, i, id, key);
        ledger_event ev = {.source = "//bench/source", .id = id, .type = "bench"};
        ledger_claim_result res;
        ledger_status st = ledger_claim(l, key, &ev, 60, &res, NULL);
        if (st == LEDGER_OK && res == (dups ? LEDGER_DONE : LEDGER_NEW))
            ops++;
        else
            errors++;
    }
    sc->ops[w] = ops;
    sc->errors[w] = errors;
    ledger_close(l);
    _exit(0);
}

/* Runs PROCS workers for SECONDS; returns operations per second, or -1. */
static double run_load(const char *url, int procs, bool dups, double seconds, long *errors)
{
    *errors = 0;
    shared_counts *sc =
        mmap(NULL, sizeof *sc, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sc == MAP_FAILED)
        return -1;
    memset(sc, 0, sizeof *sc);
    sc->deadline_ms = INT64_MAX;
    int gate[2];
    if (pipe(gate) != 0) {
        munmap(sc, sizeof *sc);
        return -1;
    }
    fflush(stdout);
    pid_t kids[MAX_PROCS];
    for (int w = 0; w < procs; w++) {
        kids[w] = fork();
        if (kids[w] == 0) {
            close(gate[1]);
            worker(url, w, dups, sc, gate[0]);
        }
    }
    close(gate[0]);
    usleep(300000); /* every worker opens its handle before the clock starts */
    int64_t start = now_ms();
    sc->deadline_ms = start + (int64_t)(seconds * 1000);
    close(gate[1]);
    bool ok = true;
    for (int w = 0; w < procs; w++) {
        int status;
        if (kids[w] < 0 || waitpid(kids[w], &status, 0) != kids[w] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            ok = false;
    }
    double elapsed = (double)(now_ms() - start) / 1000.0;
    long total = 0;
    for (int w = 0; w < procs; w++) {
        total += sc->ops[w];
        *errors += sc->errors[w];
    }
    munmap(sc, sizeof *sc);
    return ok ? (double)total / elapsed : -1;
}

/* Fills the done set that the duplicate load hits. */
static int populate(const char *url)
{
    ledger *l;
    char err[LEDGER_ERR_MAX];
    if (ledger_create(url, &l, err) != LEDGER_OK) {
        fprintf(stderr, "bench_ledger: %s\n", err);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < DUP_KEYS && rc == 0; i++) {
        char id[64], key[LEDGER_KEY_HEX + 1];
        make_key("done", 0, i, id, key);
        ledger_event ev = {.source = "//bench/source", .id = id, .type = "bench"};
        ledger_claim_result res;
        ledger_record rec;
        if (ledger_claim(l, key, &ev, 60, &res, &rec) != LEDGER_OK)
            rc = -1;
        ledger_hold hold = ledger_hold_of(&rec);
        if (rc == 0 && ledger_finish(l, &hold, "done", "{}", NULL) != LEDGER_OK)
            rc = -1;
        ledger_record_clear(&rec);
    }
    ledger_close(l);
    return rc;
}

/* The baseline: plain INSERTs in autocommit, WAL, synchronous=FULL, one process. */
static double raw_sqlite_inserts(const char *dir, int tag, double seconds)
{
    char path[600];
    snprintf(path, sizeof path, "%s/raw-%d.db", dir, tag);
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE IF NOT EXISTS raw (k TEXT PRIMARY KEY, v TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO raw (k, v) VALUES (?1, 'x')", -1, &st, NULL) !=
            SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    int64_t start = now_ms(), end = start + (int64_t)(seconds * 1000);
    long n = 0;
    for (; now_ms() < end; n++) {
        char k[32];
        snprintf(k, sizeof k, "k%ld", n);
        sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            break;
        sqlite3_reset(st);
    }
    double elapsed = (double)(now_ms() - start) / 1000.0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return (double)n / elapsed;
}

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *pg = NULL, *json_path = NULL, *dir_arg = NULL;
    double seconds = 1.5;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--pg") == 0) {
            pg = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--json") == 0) {
            json_path = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0) {
            dir_arg = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: bench_ledger [--pg URL] [--seconds S] [--dir DIR] [--json FILE]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 10) {
        fprintf(stderr, "bench_ledger: --seconds must be in (0, 10]\n");
        return 2;
    }
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bench_ledger.XXXXXX", dir_arg ? dir_arg : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_ledger: cannot create a directory in %s: %s\n",
                dir_arg ? dir_arg : "/tmp", strerror(errno));
        return 2;
    }
    stores s = {.dir = dir, .pg = pg};
    if (pg) {
        s.admin = PQconnectdb(pg);
        PQsetNoticeProcessor(s.admin, quiet, NULL);
        if (PQstatus(s.admin) != CONNECTION_OK) {
            fprintf(stderr, "bench_ledger: cannot reach PostgreSQL (--pg)\n");
            PQfinish(s.admin);
            rmdir(dir);
            return 2;
        }
    }

    printf(
        "ledger bench: %.1f s per load. raw = one plain INSERT per transaction (autocommit,\n"
        "WAL, synchronous=FULL), 1 process, same disk (%s), measured again beside each row;\n"
        "x = ratio to that row's raw. claims = new events (NEW), dups = claims of done events.\n\n",
        seconds, dir_arg ? dir_arg : "/tmp");
    printf("%5s %8s | %9s %6s %9s %7s | %9s %6s %9s %7s\n", "procs", "raw/s", "sq claims", "x",
           "sq dups", "x", "pg claims", "x", "pg dups", "x");
    json_t *rows = json_array();
    int rc = 0;
    long errors = 0;
    for (int i = 0; i < NPROC_COUNTS; i++) {
        int procs = proc_counts[i];
        double raw = raw_sqlite_inserts(dir, procs, seconds);
        double rate[2][2] = {{-1, -1}, {-1, -1}}; /* [backend][claims, dups] */
        for (int b = 0; b < 2; b++) {
            if (b == 1 && !pg)
                continue;
            char url[1200];
            long err = 0;
            if (fresh_store(&s, b == 1, "claims", procs, url, sizeof url) == 0)
                rate[b][0] = run_load(url, procs, false, seconds, &err);
            errors += err;
            if (fresh_store(&s, b == 1, "dups", procs, url, sizeof url) == 0 && populate(url) == 0)
                rate[b][1] = run_load(url, procs, true, seconds, &err);
            errors += err;
            if (rate[b][0] < 0 || rate[b][1] < 0)
                rc = 1;
        }
        printf("%5d %8.0f | %9.0f %6.2f %9.0f %7.1f |", procs, raw, rate[0][0], rate[0][0] / raw,
               rate[0][1], rate[0][1] / raw);
        if (pg)
            printf(" %9.0f %6.2f %9.0f %7.1f\n", rate[1][0], rate[1][0] / raw, rate[1][1],
                   rate[1][1] / raw);
        else
            printf(" %9s %6s %9s %7s\n", "-", "", "-", "");
        fflush(stdout);
        json_t *row = json_pack("{s:i, s:f, s:f, s:f}", "procs", procs, "raw_insert_per_s", raw,
                                "sqlite_claims_per_s", rate[0][0], "sqlite_dups_per_s", rate[0][1]);
        if (pg) {
            json_object_set_new(row, "pg_claims_per_s", json_real(rate[1][0]));
            json_object_set_new(row, "pg_dups_per_s", json_real(rate[1][1]));
        }
        json_array_append_new(rows, row);
    }
    if (!pg)
        printf("\npostgres columns skipped: no --pg URL given.\n");
    if (errors)
        printf("\n%ld claims answered other than expected (see the ledger's logs).\n", errors);
    drop_stores(&s);
    PQfinish(s.admin);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_ledger: could not remove %s\n", dir);

    json_t *doc = json_pack("{s:f, s:o, s:b, s:I}", "seconds_per_load", seconds, "results", rows,
                            "postgres", pg != NULL, "unexpected", (json_int_t)errors);
    if (json_path && json_dump_file(doc, json_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        fprintf(stderr, "bench_ledger: cannot write %s\n", json_path);
        rc = 2;
    }
    json_decref(doc);
    return rc;
}

/* test_store — see test_store.h. */
#include "test_store.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int test_store_sqlite_setup(test_store *s, const char *prefix)
{
    memset(s, 0, sizeof *s);
    s->prefix = prefix;
    snprintf(s->tmp, sizeof s->tmp, "/tmp/%s.XXXXXX", prefix);
    return mkdtemp(s->tmp) ? 0 : -1;
}

int test_store_sqlite_teardown(test_store *s)
{
    return nftw(s->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void quiet(void *arg, const char *message)
{
    (void)arg, (void)message;
}

int test_store_pg_setup(test_store *s, const char *prefix)
{
    memset(s, 0, sizeof *s);
    s->pg = true;
    s->prefix = prefix;
    const char *url = getenv("RETRAIN_TEST_PG_URL");
    if (!url || !*url) {
        print_error("RETRAIN_TEST_PG_URL is not set: run the ledger tests through "
                    "tests/run-unit.sh, which starts PostgreSQL\n");
        return -1;
    }
    snprintf(s->base, sizeof s->base, "%s", url);
    s->admin = PQconnectdb(url);
    PQsetNoticeProcessor(s->admin, quiet, NULL);
    if (PQstatus(s->admin) != CONNECTION_OK) {
        print_error("cannot reach the test PostgreSQL server\n");
        PQfinish(s->admin);
        s->admin = NULL;
        return -1;
    }
    return 0;
}

int test_store_pg_teardown(test_store *s)
{
    if (PQstatus(s->admin) != CONNECTION_OK)
        PQreset(s->admin);
    for (int n = 1; n <= s->stores; n++) {
        char sql[160];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s_t%d_%d CASCADE", s->prefix,
                 (int)getpid(), n);
        PQclear(PQexec(s->admin, sql));
    }
    PQfinish(s->admin);
    s->admin = NULL;
    return 0;
}

const char *test_store_fresh(test_store *s, const char *sqlite_name)
{
    int n = ++s->stores;
    if (!s->pg) {
        char name[256];
        snprintf(name, sizeof name, sqlite_name, n);
        snprintf(s->sqlite_path, sizeof s->sqlite_path, "%s/%s", s->tmp, name);
        snprintf(s->url, sizeof s->url, "sqlite://%s", s->sqlite_path);
        return s->url;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s_t%d_%d", s->prefix, (int)getpid(), n);
    PGresult *r = PQexec(s->admin, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    snprintf(s->url, sizeof s->url, "%s%soptions=-csearch_path%%3D%s_t%d_%d", s->base,
             strchr(s->base, '?') ? "&" : "?", s->prefix, (int)getpid(), n);
    return s->url;
}

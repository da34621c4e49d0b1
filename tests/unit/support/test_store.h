/* test_store — test support: the stores a ledger test table runs against, one group each.
 *
 * SQLite: a temp directory per group and a fresh file per store. PostgreSQL: the server named by
 * RETRAIN_TEST_PG_URL (tests/run-unit.sh starts one; without it the group fails loudly), a fresh
 * schema per store (PREFIX_tPID_N), every schema dropped at teardown. Setup and teardown return
 * 0 or -1, as cmocka's group functions do. */
#ifndef TEST_STORE_H
#define TEST_STORE_H

#include <postgresql/libpq-fe.h>
#include <stdbool.h>

typedef struct {
    bool pg;
    const char *prefix;    /* names the temp dir and the schemas */
    char base[1024];       /* PG: the server URL */
    char tmp[256];         /* SQLite: the group's temp dir */
    PGconn *admin;         /* PG: creates and drops the schemas */
    int stores;            /* fresh stores handed out */
    char url[1200];        /* the current store's URL */
    char sqlite_path[512]; /* SQLite: the current store's file */
} test_store;

int test_store_sqlite_setup(test_store *s, const char *prefix);
int test_store_sqlite_teardown(test_store *s);
int test_store_pg_setup(test_store *s, const char *prefix);
int test_store_pg_teardown(test_store *s);

/* Points S->url at a store nobody else uses (SQLITE_NAME: the file's path under the temp dir,
 * with %d for the store's number) and returns it. */
const char *test_store_fresh(test_store *s, const char *sqlite_name);

#endif

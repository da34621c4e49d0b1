/* gc — see gc.h. */
#include "gc.h"

#include "ledger.h"
#include "log.h"

int gc_collect(const char *url, int64_t older_than_s, int64_t *removed)
{
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    int64_t n = 0;
    if (removed)
        *removed = 0;
    if (ledger_open(url, &l, err) != LEDGER_OK) {
        log_error("gc: ledger unavailable: %s", err);
        return -1;
    }
    int rc = 0;
    if (ledger_gc(l, older_than_s, &n) != LEDGER_OK) {
        log_error("gc: %s", ledger_last_error(l));
        rc = -1;
    } else if (n > 0) {
        log_info("gc: removed %lld finished records older than %lld s", (long long)n,
                 (long long)older_than_s);
    }
    ledger_close(l);
    if (removed)
        *removed = n;
    return rc;
}

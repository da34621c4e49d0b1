/* alias_moves — argument checks and records of the alias audit (alias_moves.h); the backends
 * store them (ledger_backend.h). */
#include "alias_moves.h"

#include <stdlib.h>
#include <string.h>

#include "ledger_backend.h"

ledger_status alias_moves_add(ledger *l, const alias_move *m)
{
    if (!l || !m || !m->model || !*m->model || !m->alias || !*m->alias || !m->to_version ||
        !*m->to_version || !m->by || !m->why)
        return l ? ledger_fail(l, LEDGER_ERR_INVALID,
                               "alias moves: a move needs a model, an alias, the version it "
                               "moved to, who moved it and why")
                 : LEDGER_ERR_INVALID;
    return l->ops->move_add(l, m);
}

ledger_status alias_moves_list(ledger *l, const alias_move_query *q, alias_move *out, size_t cap,
                               size_t *n)
{
    *n = 0;
    if (!q || !out || cap == 0)
        return ledger_fail(l, LEDGER_ERR_INVALID, "alias moves: nowhere to list into");
    alias_move_query full = *q;
    if (full.limit <= 0)
        full.limit = 100;
    if ((size_t)full.limit > cap)
        full.limit = (int)cap;
    return l->ops->move_list(l, &full, out, cap, n);
}

int alias_move_fill(alias_move *m, const char *const cols[ALIAS_MOVE_NCOLUMNS])
{
    memset(m, 0, sizeof *m);
    m->seq = cols[0] ? strtoll(cols[0], NULL, 10) : 0;
    m->has_value = cols[6] != NULL;
    m->value = cols[6] ? strtod(cols[6], NULL) : 0;
    m->at_ms = cols[10] ? strtoll(cols[10], NULL, 10) : 0;
    if (ledger_col_dup(&m->model, cols[1]) || ledger_col_dup(&m->alias, cols[2]) ||
        ledger_col_dup(&m->from_version, cols[3]) || ledger_col_dup(&m->to_version, cols[4]) ||
        ledger_col_dup(&m->metric, cols[5]) || ledger_col_dup(&m->run_id, cols[7]) ||
        ledger_col_dup(&m->by, cols[8]) || ledger_col_dup(&m->why, cols[9])) {
        alias_move_clear(m);
        return -1;
    }
    return 0;
}

void alias_move_clear(alias_move *m)
{
    if (!m)
        return;
    free(m->model);
    free(m->alias);
    free(m->from_version);
    free(m->to_version);
    free(m->metric);
    free(m->run_id);
    free(m->by);
    free(m->why);
    memset(m, 0, sizeof *m);
}

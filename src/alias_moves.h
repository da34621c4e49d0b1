/* alias_moves — the ledger's audit of every move of a model's version alias: when, from which
 * version to which, who moved it (the promotion gate, a hand, a rollback), why, and the metric
 * the new holder was chosen by. Records are only added, never changed, and gc keeps them: the
 * audit outlives the runs it names.
 *
 * Ownership: an alias_move filled by alias_moves_list owns its strings; release it with
 * alias_move_clear. One given to alias_moves_add is borrowed. Errors are ledger_status values
 * with the handle's message (ledger_last_error), as in ledger.h. */
#ifndef RT_ALIAS_MOVES_H
#define RT_ALIAS_MOVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

/* Who moved an alias. */
#define ALIAS_BY_GATE "gate"         /* the promotion gate, for a run */
#define ALIAS_BY_HAND "hand"         /* retrainctl promote */
#define ALIAS_BY_ROLLBACK "rollback" /* retrainctl rollback */

typedef struct {
    int64_t seq;        /* the store's order; set by the store */
    int64_t at_ms;      /* when (the store's clock); set by the store */
    char *model;        /* projects/P/locations/L/models/ID */
    char *alias;        /* the alias that moved */
    char *from_version; /* the version id that held it; NULL: none did */
    char *to_version;   /* the version id that holds it now */
    char *metric;       /* the metric the gate compared; NULL: none */
    bool has_value;     /* VALUE is the new holder's metric */
    double value;
    char *run_id; /* the run whose version moved in; NULL: none (by hand) */
    char *by;     /* ALIAS_BY_* */
    char *why;    /* the reason, as a sentence */
} alias_move;

/* Appends M (seq and at_ms ignored). LEDGER_ERR_INVALID when a required field is missing. */
ledger_status alias_moves_add(ledger *l, const alias_move *m);

typedef struct {
    const char *model; /* NULL: any */
    const char *alias; /* NULL: any */
    bool latest;       /* only the last move of each (model, alias): who holds it now */
    int limit;         /* <= 0: 100 */
} alias_move_query;

/* Up to q->limit moves (at most CAP), newest first; *N how many were filled. */
ledger_status alias_moves_list(ledger *l, const alias_move_query *q, alias_move *out, size_t cap,
                               size_t *n);

void alias_move_clear(alias_move *m);

#endif

/* promote — the promotion gate: a new model version serves (holds the rule's alias) only when
 * its evaluation beats the version that serves now.
 *
 * promote_decide() is one pass over one succeeded run whose decision is pending (or promoting:
 * a pass that died before it finished), under a lock per model and alias in the ledger (a rule
 * slot named "promote/MODEL/ALIAS", held by the follower and the run, for lock_s at most), so two
 * runs of one model never decide at once on any host, nor two followers on one run whose follow
 * lease ran out mid-pass:
 *
 *   1. the new version's metric: its ModelEvaluations (models.evaluations.list, the newest that
 *      has the metric), else the JSON object at the rule's metrics_uri (read through the Cloud
 *      Storage JSON API), then imported as a ModelEvaluation of the version
 *      (models.evaluations.import) so the Model Registry shows it;
 *   2. the champion: models.get of MODEL@ALIAS (404: none), and its metric from its
 *      evaluations;
 *   3. the decision: promoted when the version wins by more than min_delta, when no version
 *      holds the alias yet, or when the champion has no metric to compare; held when it does
 *      not win; without an evaluation, held when require_evaluation (else promoted);
 *   4. promoted: first the intent is recorded (decision "promoting", with the champion it
 *      replaces), then models.mergeVersionAliases moves the alias (idempotent), then the move
 *      is added to the alias audit (alias_moves.h) and the decision becomes "promoted". A pass
 *      after a crash finds the run promoting, decides again against the alias's holder now
 *      (which is the version itself once the move went through), and completes the audit from
 *      the recorded intent: every decision recorded once, every move audited once.
 *
 * Errors are values: a pass that cannot finish (Google or Cloud Storage unavailable, the lock
 * held) leaves the run as it was and says when to try again.
 *
 * Ownership: a promote_env borrows everything it names. */
#ifndef RT_PROMOTE_H
#define RT_PROMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "fetch.h"
#include "gauth.h"
#include "ledger.h"
#include "rules.h"
#include "runs.h"
#include "vertex.h"

typedef struct {
    vtx_client *vtx;
    fetch_client *http;
    gauth *auth;
    const char *storage_endpoint; /* the Cloud Storage JSON API's root */
    long storage_timeout_ms;
    ledger *l;
    int lock_s;        /* how long the model's lock outlasts a holder that died */
    const char *owner; /* the follower deciding (unique to its process): its passes hold the lock */
} promote_env;

typedef enum {
    PROMOTE_DECIDED, /* the run's decision is recorded (promoted or held) */
    PROMOTE_LATER,   /* Google, Cloud Storage or the ledger failed: try again on the backoff */
    PROMOTE_BUSY,    /* another pass holds the model's lock: try again in a moment */
} promote_result;

/* One pass of the gate over RUN (succeeded, decision pending or promoting) of the rule named
 * RULE_NAME with gate PR. WHY (may be NULL) gets the decision's reason, or what failed. */
promote_result promote_decide(const promote_env *env, const rules_promote *pr,
                              const char *rule_name, const run_record *run, char *why,
                              size_t whylen);

/* Moves ALIAS of MODEL ("projects/.../models/ID") to version TO (its id) by hand or in a
 * rollback (BY: ALIAS_BY_HAND, ALIAS_BY_ROLLBACK), under the model's lock, and audits it with
 * WHY. For a rollback TO may be NULL: the version that held ALIAS before its last move. *FROM
 * (may be NULL; FROMLEN bytes) gets the version that held it. Returns 0; 1 when there is nothing
 * to do (a rollback with no earlier holder, or TO holds it already) or Vertex refused; 2 when
 * Google or the ledger failed. WHY_OUT says what happened. */
int promote_move(const promote_env *env, const char *model, const char *alias, const char *to,
                 const char *by, const char *why, char *from, size_t fromlen, char *why_out,
                 size_t whylen);

/* The number METRIC of the newest evaluation in a models.evaluations.list answer LIST that has
 * it: true with *VALUE, else false. Exposed for tests. */
bool promote_metric_of(const json_t *list, const char *metric, double *value);

#endif

/* retrain_promote — the follower's part of the promotion gate (promote.h): a succeeded run of a
 * rule with "promote" is decided right after the look that saw it succeed, and again on the
 * follower's backoff while Google or the ledger fail, or while another decision on its model
 * holds the lock. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "promote.h"
#include "retrain.h"
#include "retrain_internal.h"

#define BUSY_RETRY_S 2 /* another decision on the model holds its lock: it takes seconds */

const char *retrain_decision_due(const retrain_state *st, const char *rule_name)
{
    const rule *r = rule_name ? rules_find(st->rules, rule_name) : NULL;
    return r && rules_promote_of(r) ? RUN_DECISION_PENDING : NULL;
}

promote_env retrain_promote_env(retrain_state *st, ledger *l)
{
    return (promote_env){.vtx = st->vtx,
                         .http = st->http,
                         .auth = st->auth,
                         .storage_endpoint = st->conf.storage.endpoint,
                         .storage_timeout_ms = st->conf.storage.timeout_ms,
                         .l = l,
                         /* a pass makes at most seven calls, each within the deadline */
                         .lock_s = st->conf.vertex.deadline_ms / 1000 * 8 + 10,
                         .owner = st->owner};
}

promote_env retrain_gate_env(void *state, ledger *l)
{
    return retrain_promote_env(state, l);
}

int retrain_promote(retrain_state *st, ledger *l, const run_record *run)
{
    const follow_config *f = &st->conf.follow;
    const rule *r = rules_find(st->rules, run->rule);
    const rules_promote *pr = r ? rules_promote_of(r) : NULL;
    char why[1024];
    if (!pr) {
        /* The rule lost its gate (or itself) since the run began: nothing moves unchecked. */
        snprintf(why, sizeof why,
                 "{\"decision\":\"held\",\"reason\":\"rule %s has no promote section any more\"}",
                 run->rule);
        if (runs_decide(l, run->id, RUN_DECISION_HELD, why, ",pending,promoting,") != LEDGER_OK)
            log_warning("run %s: %s", run->id, ledger_last_error(l));
        log_warning("run %s: held: rule %s has no promote section any more", run->id, run->rule);
        return f->first_s;
    }
    promote_env env = retrain_promote_env(st, l);
    promote_result res = promote_decide(&env, pr, run->rule, run, why, sizeof why);
    switch (res) {
    case PROMOTE_DECIDED: {
        run_record now;
        const char *d = runs_get(l, run->id, &now) == LEDGER_OK ? now.decision : "?";
        log_info("run %s: %s %s: %s", run->id, d, run->model_version ? run->model_version : "",
                 why);
        run_record_clear(&now);
        return f->first_s;
    }
    case PROMOTE_BUSY:
        log_info("run %s: deciding later: %s", run->id, why);
        return BUSY_RETRY_S;
    case PROMOTE_LATER:
        break;
    }
    log_warning("run %s: promotion not decided yet: %s", run->id, why);
    return -1;
}

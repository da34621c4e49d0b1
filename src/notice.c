/* notice — see notice.h. */
#include "notice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_time.h"
#include "run_json.h"

const char *notice_type(run_state s)
{
    switch (s) {
    case RUN_SUCCEEDED:
        return "dev.eventarc-retrain.run.v1.succeeded";
    case RUN_FAILED:
        return "dev.eventarc-retrain.run.v1.failed";
    case RUN_CANCELLED:
        return "dev.eventarc-retrain.run.v1.cancelled";
    default:
        return NULL;
    }
}

int notice_send(fetch_client *http, const notice_target *t, const run_record *run, long *status,
                char *why, size_t whylen)
{
    *status = 0;
    const char *type = notice_type(run->state);
    if (!type) {
        snprintf(why, whylen, "run %s has not ended", run->id);
        return -1;
    }
    json_t *record = run_json(run);
    char *body = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);
    char h_type[96], h_source[512], h_id[64], h_subject[160], h_time[64], when[40];
    time_ms_rfc3339(run->ended_ms, when, sizeof when);
    snprintf(h_type, sizeof h_type, "ce-type: %s", type);
    snprintf(h_source, sizeof h_source, "ce-source: //eventarc-retrain/%s", t->location);
    snprintf(h_id, sizeof h_id, "ce-id: %s", run->id);
    snprintf(h_subject, sizeof h_subject, "ce-subject: rules/%s/runs/%s",
             run->rule ? run->rule : "", run->id);
    snprintf(h_time, sizeof h_time, "ce-time: %s", when);
    const char *headers[] = {"ce-specversion: 1.0",
                             h_type,
                             h_source,
                             h_id,
                             h_subject,
                             h_time,
                             "Content-Type: application/json",
                             NULL};
    if (!body) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    fetch_call call = {.method = "POST",
                       .url = t->url,
                       .headers = headers,
                       .body = body,
                       .body_len = strlen(body),
                       .timeout_ms = t->timeout_ms,
                       .max_body = 65536,
                       .once = true}; /* one POST per attempt: the follower's backoff retries */
    fetch_answer ans;
    fetch_err e = fetch_do(http, &call, &ans);
    free(body);
    int rc = -1;
    if (e == FETCH_OK || e == FETCH_ERR_TOO_BIG) {
        *status = ans.status;
        if (ans.status >= 200 && ans.status < 300)
            rc = 0;
        else
            snprintf(why, whylen, "the endpoint answered HTTP %ld", ans.status);
    } else {
        /* curl's detail never holds request data, but may name the URL: say the kind only. */
        snprintf(why, whylen, "no answer from the endpoint (%s)", fetch_err_name(e));
    }
    fetch_answer_free(&ans);
    return rc;
}

/* rules_vars — the placeholders' values for an event matched to a rule, and what a rule's
 * templates make of them (see rules.h); the expansion itself is template.c's. */
#include "rules.h"
#include "rules_internal.h"

#include <string.h>

int rules_vars_for_event(const rule *r, const cloudevent *ev, const storage_object *obj,
                         const char *event_key, arena *a, template_vars *vars)
{
    memset(vars, 0, sizeof *vars);
    vars->bucket = rules_event_bucket(ev, obj);
    vars->name = rules_event_object_name(ev, obj);
    vars->generation = obj ? obj->generation : NULL;
    vars->event_id = ev->id;
    vars->event_key = event_key;
    vars->event_time = ev->time;
    vars->rule = rules_name(r);
    if (vars->bucket && vars->name &&
        !(vars->gcs_uri = arena_printf(a, "gs://%s/%s", vars->bucket, vars->name)))
        return -1;
    return 0;
}

char *rules_artifact_uri(const rule *r, const template_vars *vars, arena *a)
{
    const rules_model *m = rules_model_of(r);
    if (m && m->artifact_uri)
        return template_expand_string(m->artifact_uri, vars, a);
    if (!vars->gcs_uri)
        return arena_strdup(a, "");
    /* The directory: everything up to the last '/' after "gs://bucket/". */
    const char *uri = vars->gcs_uri;
    const char *slash = strrchr(uri, '/');
    return arena_strndup(a, uri, (size_t)(slash - uri) + 1);
}

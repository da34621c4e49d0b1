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
    const char *slash = vars->name ? strrchr(vars->name, '/') : NULL;
    vars->name_dir = slash ? arena_strndup(a, vars->name, (size_t)(slash - vars->name)) : "";
    if (!vars->name_dir)
        return -1;
    if (vars->bucket && vars->name &&
        !(vars->gcs_uri = arena_printf(a, "gs://%s/%s", vars->bucket, vars->name)))
        return -1;
    const char *one[] = {vars->name};
    return rules_vars_batch(vars, vars->name ? one : NULL, vars->name ? 1 : 0, 1, a);
}

int rules_vars_batch(template_vars *vars, const char *const *names, size_t n, size_t size, arena *a)
{
    vars->batch_first_name = n ? names[0] : NULL;
    vars->batch_last_name = n ? names[n - 1] : NULL;
    size_t common = n ? strlen(names[0]) : 0;
    for (size_t i = 1; i < n && common > 0; i++) {
        size_t j = 0;
        while (j < common && names[i][j] == names[0][j])
            j++;
        common = j;
    }
    while (common > 0 && names[0][common - 1] != '/') /* cut at a '/' */
        common--;
    vars->batch_prefix = n ? arena_strndup(a, names[0], common) : NULL;
    vars->batch_size = arena_printf(a, "%zu", size);
    return (n && !vars->batch_prefix) || !vars->batch_size ? -1 : 0;
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

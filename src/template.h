/* template — the placeholder language of the rules' templates, knowing nothing of rules.
 *
 * "${NAME}" is a placeholder, "$${" a literal "${", any other '$' literal. The names are the
 * fields of template_vars: of one event ${bucket} ${name} ${name_dir} ${generation}
 * ${event_id} ${event_key} ${event_time} ${rule} ${gcs_uri}, and of the run the work belongs
 * to ${run_id} ${batch_size} ${batch_first_name} ${batch_last_name} ${batch_prefix}
 * ${batch_manifest_uri}; of a model version (a promotion's metrics URI) ${artifact_uri} (its
 * artifactUri without a trailing '/'), ${model} and ${version_id}, with ${rule} and ${run_id}.
 * template_check() refuses what
 * template_expand() could not expand, with the same scanner, so what check-config accepts is
 * exactly what expands.
 *
 * Memory: template_expand() returns a new jansson reference; template_expand_string() writes
 * into the caller's arena. */
#ifndef RT_TEMPLATE_H
#define RT_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* The values of the placeholders (borrowed). NULL fields expand to "". */
typedef struct {
    const char *bucket, *name, *generation, *event_id, *event_key, *event_time, *rule, *gcs_uri;
    const char *name_dir; /* the object name up to its last '/' (not included); "": none */
    const char *run_id, *batch_size, *batch_first_name, *batch_last_name, *batch_prefix;
    const char *batch_manifest_uri;
    const char *artifact_uri, *model, *version_id; /* of a model version */
} template_vars;

/* True when S holds "${" that is not the escape "$${". */
int template_has_placeholder(const char *s);

/* Checks every placeholder in S: 0, or -1 with the first problem in MSG. */
int template_check(const char *s, char *msg, size_t msglen);
/* The same, and refuses the run's placeholders too: S is expanded with one event's values. */
int template_check_event(const char *s, char *msg, size_t msglen);
/* The same for a model version's template (a promotion's metrics URI): ${artifact_uri}
 * ${model} ${version_id} ${rule} ${run_id}. */
int template_check_version(const char *s, char *msg, size_t msglen);
/* Whether S holds placeholder ${NAME}. */
bool template_names(const char *s, const char *name);

/* A new JSON value: TMPL with every placeholder in every string value replaced (keys and
 * non-strings copied as they are). NULL on OOM, or when an expanded string is not valid UTF-8
 * (an event id from a header can be any bytes). */
json_t *template_expand(const json_t *tmpl, const template_vars *vars);

/* One template string expanded into A; NULL on OOM. */
char *template_expand_string(const char *tmpl, const template_vars *vars, arena *a);

#endif

/* vfilter — the `filter` of Vertex AI list calls, as Google documents it for each list.
 *
 * Clauses joined by " AND ", each one of
 *   labels.KEY="VALUE"  labels.KEY=VALUE     a label's value
 *   labels.KEY:*        labels:KEY           a label's existence
 *   state=S             state!=S             a job's or pipeline's state
 *   display_name="N"    display_name!="N"    (displayName is accepted for display_name)
 *   model=ID            model!=ID            a model's id: the last segment of its name
 * Which keys a list accepts is its own (VF_KEYS_*): customJobs and trainingPipelines take
 * labels, state and display_name; models.list labels, display_name and model;
 * models.listVersions labels only. A resource matches when every clause does; an empty filter
 * matches everything. Anything else is refused, as Google refuses a filter it cannot parse. */
#ifndef EMU_VFILTER_H
#define EMU_VFILTER_H

#include <jansson.h>
#include <stdbool.h>

#define VF_MAX_CLAUSES 16

typedef enum {
    VF_OK = 0,
    VF_SYNTAX,      /* no operator, a stray quote, an empty clause */
    VF_UNKNOWN_KEY, /* a key this list does not filter on */
    VF_TOO_LONG,    /* too many clauses, a key or value too long */
} vf_status;

typedef enum { VF_LABEL, VF_STATE, VF_DISPLAY_NAME, VF_MODEL } vf_kind;

/* Which keys a list accepts: a mask of 1u << vf_kind. */
#define VF_KEY(k) (1u << (k))
#define VF_KEYS_JOBS (VF_KEY(VF_LABEL) | VF_KEY(VF_STATE) | VF_KEY(VF_DISPLAY_NAME))
#define VF_KEYS_MODELS (VF_KEY(VF_LABEL) | VF_KEY(VF_DISPLAY_NAME) | VF_KEY(VF_MODEL))
#define VF_KEYS_VERSIONS VF_KEY(VF_LABEL)

typedef struct {
    vf_kind kind;
    enum { VF_EQ, VF_NE, VF_EXISTS } op;
    char key[64]; /* the label key */
    char value[256];
} vf_clause;

typedef struct {
    vf_clause clauses[VF_MAX_CLAUSES];
    int n;
} vf_filter;

const char *vf_status_name(vf_status s);
/* Parses TEXT into F (caller's storage; nothing to free), accepting the keys in KEYS. */
vf_status vf_parse(const char *text, unsigned keys, vf_filter *f);
/* Whether RESOURCE (a CustomJob, TrainingPipeline or Model JSON) matches. */
bool vf_match(const vf_filter *f, const json_t *resource);

#endif

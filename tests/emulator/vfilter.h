/* vfilter — the `filter` of Vertex AI list calls, as far as our clients use it.
 *
 * Clauses joined by " AND ", each one of
 *   labels.KEY="VALUE"   labels.KEY=VALUE   state=JOB_STATE_SUCCEEDED   display_name="NAME"
 * (displayName is accepted for display_name). A resource matches when every clause does. An
 * empty filter matches everything. Anything else is refused, as Google refuses a filter it
 * cannot parse. */
#ifndef EMU_VFILTER_H
#define EMU_VFILTER_H

#include <jansson.h>
#include <stdbool.h>

#define VF_MAX_CLAUSES 16

typedef enum {
    VF_OK = 0,
    VF_SYNTAX,      /* no '=', a stray quote, an empty clause */
    VF_UNKNOWN_KEY, /* not labels.*, state or display_name */
    VF_TOO_LONG,    /* too many clauses, a key or value too long */
} vf_status;

typedef struct {
    enum { VF_LABEL, VF_STATE, VF_DISPLAY_NAME } kind;
    char key[64]; /* the label key */
    char value[256];
} vf_clause;

typedef struct {
    vf_clause clauses[VF_MAX_CLAUSES];
    int n;
} vf_filter;

const char *vf_status_name(vf_status s);
/* Parses TEXT into F (caller's storage; nothing to free). */
vf_status vf_parse(const char *text, vf_filter *f);
/* Whether RESOURCE (a CustomJob, TrainingPipeline or Model JSON) matches. */
bool vf_match(const vf_filter *f, const json_t *resource);

#endif

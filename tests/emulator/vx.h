/* vx — the emulator's Vertex AI internals, shared by vx.c (routing, listing, clock), vx_jobs.c
 * (customJobs, trainingPipelines) and vx_models.c (models, uploads, operations).
 *
 * All Vertex state sits behind one mutex, vx_mu; vx.c takes it around every request, so
 * the functions here run with it held. Resources are kept as the JSON Google would answer with
 * and updated in place when the clock advances (vx_*_tick). */
#ifndef EMU_VX_H
#define EMU_VX_H

#include "emu.h"
#include "vfilter.h"
#include "vschema.h"

#include <stdint.h>

/* "projects/{p}/locations/{l}" of the request. */
typedef struct {
    char project[64];
    char location[64];
    char name[160];
} vx_parent;

/* One state step in ms (config job_clock_ms; 0 = at once). */
int64_t vx_clock_ms(void);
/* A fresh numeric resource id ("4000000000000000123"). */
void vx_next_id(char *out, size_t n);

/* Checks BODY against SCHEMA; on failure answers 400 INVALID_ARGUMENT (with a BadRequest field
 * violation) and returns false. */
bool vx_validate(const json_t *body, const vs_field *schema, const char *root, emu_response *resp);
/* 400 INVALID_ARGUMENT naming FIELD, in the same shape. */
void vx_field_error(emu_response *resp, const char *field, const char *message);

/* One orderBy field a list accepts ("create_time"; the lowerCamelCase spelling is accepted too)
 * and the member it sorts by. */
typedef struct {
    const char *field;
    const char *member;
} vx_order_field;

/* What one list method takes, as Google documents it: the member its page goes under, the keys
 * its filter accepts (vfilter.h VF_KEYS_*), and its orderBy fields (NULL: no orderBy). */
typedef struct {
    const char *member;
    unsigned filter_keys;
    const vx_order_field *order; /* ends with {NULL, NULL} */
} vx_list_spec;

/* Answers a list: filters CANDIDATES (an array, oldest first, stolen) with the request's
 * `filter`, orders them (newest first, or by `orderBy`: "f1 [asc|desc], f2 ..."), pages them with
 * pageSize/pageToken, keeps only the top-level members named in `readMask` (when given) and
 * puts the page under SPEC's member. A parameter the method does not take is a 400. */
void vx_list(const emu_request *req, emu_response *resp, json_t *candidates,
             const vx_list_spec *spec);

/* Jobs: REST is the path after the parent ("customJobs/123:cancel"). */
bool vx_jobs_handle(const emu_request *req, emu_response *resp, const vx_parent *parent,
                    const char *rest);
void vx_jobs_tick(int64_t now_mono);
void vx_jobs_reset(void);
void vx_jobs_stats(json_t *created);

bool vx_models_handle(const emu_request *req, emu_response *resp, const vx_parent *parent,
                      const char *rest);
/* POST /emulator/vertex/models {"project","location","modelId","model":{...}}: a model with
 * version 1, at once. */
void vx_models_seed(const emu_request *req, emu_response *resp);
void vx_models_tick(int64_t now_mono);
void vx_models_reset(void);
void vx_models_stats(json_t *created);
/* Applies upload_min_interval_ms from a POST /emulator/config body. */
void vx_models_configure(const json_t *cfg);
/* Checks where a new version would go, as Google does at request time: PARENT_MODEL must be a
 * model of PARENT's location, MODEL_ID (either may be NULL, not both set) a free well-formed id,
 * MODEL's versionAliases well-formed. On failure answers 400 (naming ROOT.MODEL_FIELD...), 404
 * or 409 and returns false. */
bool vx_model_target_ok(const vx_parent *parent, const char *root, const char *model_field,
                        const char *parent_model, const char *model_id, const json_t *model,
                        emu_response *resp);
/* Adds a version built from MODEL (a Model JSON, borrowed) to PARENT_MODEL, or creates model
 * MODEL_ID (or a numeric id when NULL). Writes the model name and the new version id.
 * Returns 0 or -1. */
int vx_models_add_version(const vx_parent *parent, const json_t *model, const char *parent_model,
                          const char *model_id, char *name, size_t namelen, char *version,
                          size_t versionlen);

/* Evaluations (vx_evals.c). TAIL follows MODEL's VERSION in the path ("/evaluations",
 * "/evaluations/EID", "/evaluations:import"); false when it is none of them. */
bool vx_evals_handle(const emu_request *req, emu_response *resp, const char *model,
                     const char *version, const char *tail);
/* A training pipeline named DISPLAY_NAME made MODEL's VERSION (MODEL_VERSION: its Model JSON):
 * the first queued outcome it matches is applied. */
void vx_evals_trained(const char *display_name, const char *model, const char *version,
                      const json_t *model_version);
/* GET and POST /emulator/vertex/outcomes. */
void vx_evals_outcomes(const emu_request *req, emu_response *resp);
void vx_evals_reset(void);
void vx_evals_stats(json_t *created);

#endif

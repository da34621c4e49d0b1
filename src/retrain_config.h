/* retrain_config — the retrain function's part of the config file: two top-level keys.
 *
 *   "vertex": {"endpoint": URL, "project": ID, "region": "us-central1", "deadline_ms": 20000}
 *             RETRAIN_VERTEX_ENDPOINT overrides the endpoint; GOOGLE_CLOUD_PROJECT is the
 *             project when the file names none.
 *   "rules":  the rules (rules.h); none by default.
 *   "follow": {"first_s": 30, "max_s": 300, "reads_per_minute": 120}: how the pool's follower
 *             looks at each open run (first_s after it was submitted, then twice as long each
 *             time nothing changed, at most max_s; first_s again after a change), and how many
 *             Vertex reads a minute every follower of the project and region share.
 *
 * The config module keeps these keys for the function (config.h's sections); this module reads
 * and checks them, for the worker's init and for check-config alike.
 *
 * Ownership: a retrain_config owns its strings and its reference to the rules array;
 * retrain_config_free() releases them. */
#ifndef RT_RETRAIN_CONFIG_H
#define RT_RETRAIN_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "problems.h"
#include "vertex.h"

typedef struct {
    int first_s, max_s;   /* the backoff of the looks at one run */
    int reads_per_minute; /* shared by every follower on the ledger, per project and region */
} follow_config;

typedef struct {
    vertex_config vertex;
    follow_config follow;
    json_t *rules; /* array, possibly empty */
} retrain_config;

/* The keys above, NULL-terminated (the function's config_keys). */
extern const char *const retrain_config_keys[];

/* Reads SECTIONS (an object; either key may be absent) and the environment into OUT. 0, or -1
 * with every problem in P (OUT is then freed). The rules are not compiled here. */
int retrain_config_read(const json_t *sections, retrain_config *out, problems *p);

/* Reads them and compiles the rules as a worker would: every problem into P with its JSON
 * path. Returns the number of rules (0 when they do not compile). */
size_t retrain_config_check(const json_t *sections, problems *p);

void retrain_config_free(retrain_config *c);

#endif

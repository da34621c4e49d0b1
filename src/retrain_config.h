/* retrain_config — the retrain function's part of the config file: two top-level keys.
 *
 *   "vertex": {"endpoint": URL, "project": ID, "region": "us-central1", "deadline_ms": 20000}
 *             RETRAIN_VERTEX_ENDPOINT overrides the endpoint; GOOGLE_CLOUD_PROJECT is the
 *             project when the file names none.
 *   "rules":  the rules (rules.h); none by default.
 *   "follow": {"first_s": 30, "max_s": 300, "reads_per_minute": 120, "creates_per_minute": 50}:
 *             how the pool's follower looks at each open run (first_s after it was submitted,
 *             then twice as long each time nothing changed, at most max_s; first_s again after
 *             a change), how many Vertex reads a minute every follower of the project and
 *             region share, and how many customJobs/trainingPipelines.create calls the request
 *             path and the follower share (Vertex's quota is 60 a minute: 50 and the budget's
 *             burst of 4 stay within it); past it, runs wait queued.
 *   "notify": {"url": "https://…", "timeout_ms": 5000}: each run that ends is POSTed there as
 *             a CloudEvent (notice.h), at least once, until the endpoint answers 2xx.
 *   "storage": {"endpoint": "https://storage.googleapis.com", "timeout_ms": 30000}: the Cloud
 *             Storage JSON API, where batch manifests are written (gcs.h);
 *             RETRAIN_STORAGE_ENDPOINT overrides the endpoint.
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
    int first_s, max_s;     /* the backoff of the looks at one run */
    int reads_per_minute;   /* shared by every follower on the ledger, per project and region */
    int creates_per_minute; /* job and pipeline creates, shared by the whole pool likewise */
} follow_config;

typedef struct {
    char *url;      /* where each run that ends is POSTed as a CloudEvent; NULL: nowhere */
    int timeout_ms; /* per POST */
} notify_config;

typedef struct {
    char *endpoint; /* the JSON API's root, without a trailing '/' */
    int timeout_ms; /* per call */
} storage_config;

typedef struct {
    vertex_config vertex;
    storage_config storage;
    follow_config follow;
    notify_config notify;
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

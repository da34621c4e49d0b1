/* routes — which Google method a request is for, told from its method and path alone, and
 * counters keyed by that name.
 *
 * The services name the route they answered (emu_response.route, counted under "requests" in
 * /emulator/stats); faults are decided before any service sees the request, so fault matching
 * by route ("routes":["customJobs.get"]) and the per-route attempt counts need the name up
 * front. emu_route_of() gives the same names the services use for the Google-facing methods:
 * the Vertex AI v1 methods (customJobs.*, trainingPipelines.*, models.*, operations.*), the
 * issuer's oidc.jwks and oidc.discovery, metadata.*, oauth.token and Cloud Storage's
 * storage.objects.{insert,list,get,delete}. The emulator's own
 * /emulator/ paths have no route here. Pure functions: no state, no lock. */
#ifndef EMU_ROUTES_H
#define EMU_ROUTES_H

#include <jansson.h>
#include <stdbool.h>

/* The route METHOD PATH (no query) is for ("customJobs.get"), or NULL when it is none of the
 * Google methods the emulator serves. The string is static. */
const char *emu_route_of(const char *method, const char *path);

/* The static spelling of route NAME when it is one emu_route_of() can return, else NULL. */
const char *emu_route_canonical(const char *name);

/* A small counter per route name. Names are borrowed: static strings only. Not thread-safe: the
 * owner locks. Names past EMU_TALLY_MAX distinct ones are not counted. */
#define EMU_TALLY_MAX 96

typedef struct {
    struct {
        const char *name;
        long n;
    } slot[EMU_TALLY_MAX];
    int len;
} emu_tally;

void emu_tally_add(emu_tally *t, const char *name);
/* The count for NAME (0 when never added). */
long emu_tally_get(const emu_tally *t, const char *name);
/* {"name":n, ...}: a new reference. */
json_t *emu_tally_json(const emu_tally *t);

#endif

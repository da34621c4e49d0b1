/* vertex_fixture — test-only: a Vertex AI client (src/vertex.h) against a loopback mini server
 * (mini_http.h) standing in for both the metadata server (access tokens) and Vertex, for the
 * client's tests (test_vertex.c, test_vertex_upload.c); and a model spec for the bodies' tests.
 *
 * The fixture's client has project p, region us-central1, a 700 ms deadline, and one token
 * ("tok-1") queued at the server. vertex_fixture_teardown() stops the server even when a test
 * fails. */
#ifndef TEST_VERTEX_FIXTURE_H
#define TEST_VERTEX_FIXTURE_H

#include "gauth.h"
#include "fetch.h"
#include "mini_http.h"
#include "vertex.h"
#include "vertex_body.h"

#define TOKEN_PATH "/computeMetadata/" /* where the mini server answers token requests */
#define JOB_ANSWER "{\"name\":\"projects/p/locations/us-central1/customJobs/7\"}"
#define UNAVAILABLE "{\"error\":{\"code\":503,\"message\":\"busy\",\"status\":\"UNAVAILABLE\"}}"

typedef struct {
    mini_http *srv;
    gauth *auth;
    fetch_client *http;
    vtx_client *c;
    char endpoint[96];
} fixture;

/* cmocka setup and teardown: *STATE is a fixture. */
int vertex_fixture_setup(void **state);
int vertex_fixture_teardown(void **state);

/* Queues an access token at SRV's metadata path. */
void push_token(mini_http *srv, const char *token);

/* A model with a serving container, routes, a port and the aliases prod and v2. */
vtx_model_spec model_spec(void);

#endif

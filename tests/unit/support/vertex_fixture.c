/* vertex_fixture — see vertex_fixture.h. */
#include "vertex_fixture.h"

#include <stdio.h>
#include <stdlib.h>

void push_token(mini_http *srv, const char *token)
{
    char body[128];
    snprintf(body, sizeof body, "{\"access_token\":\"%s\",\"expires_in\":3600}", token);
    mini_http_push(srv, (mini_reply){.status = 200, .body = body, .path = TOKEN_PATH});
}

int vertex_fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->srv = mini_http_start();
    f->http = fetch_new();
    char host[64], err[256];
    snprintf(host, sizeof host, "127.0.0.1:%d", mini_http_port(f->srv));
    gauth_options opt = {.metadata_host = host, .http = f->http};
    if (gauth_open(&opt, &f->auth, err, sizeof err) != GAUTH_OK)
        return -1;
    snprintf(f->endpoint, sizeof f->endpoint, "%s/v1", mini_http_url(f->srv));
    vertex_config cfg = {
        .endpoint = f->endpoint, .project = "p", .region = "us-central1", .deadline_ms = 700};
    f->c = vtx_client_new(&cfg, f->auth, f->http, err, sizeof err);
    push_token(f->srv, "tok-1");
    *state = f;
    return f->c ? 0 : -1;
}

int vertex_fixture_teardown(void **state)
{
    fixture *f = *state;
    vtx_client_free(f->c);
    gauth_close(f->auth);
    fetch_free(f->http);
    mini_http_stop(f->srv);
    free(f);
    return 0;
}

static const char *const prod_aliases[] = {"prod", "v2", NULL};

vtx_model_spec model_spec(void)
{
    return (vtx_model_spec){.display_name = "churn",
                            .artifact_uri = "gs://b/model/",
                            .image_uri = "us-docker.pkg.dev/vertex-ai/prediction/sklearn:1",
                            .predict_route = "/predict",
                            .health_route = "/health",
                            .port = 8080,
                            .version_aliases = prod_aliases};
}

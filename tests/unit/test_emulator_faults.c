/* The emulator's fault selection (tests/emulator/faults.c) and the route names it matches on
 * (tests/emulator/routes.c): the budget tests refuse exactly the reads (or exactly the creates)
 * they ask for, count them per route, and the 429 looks like Google's. Compiled in directly with
 * the helper file util.c: the modules are part of the emulator binary. */
#include "../emulator/faults.c"
#include "../emulator/routes.c"
#include "../emulator/util.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define VX "/v1/projects/p/locations/us-central1/"

/* ---- routes ------------------------------------------------------------------------------- */

static void test_vertex_routes_named_as_in_stats(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *route;
    } cases[] = {
        {"POST", VX "customJobs", "customJobs.create"},
        {"GET", VX "customJobs", "customJobs.list"},
        {"GET", VX "customJobs/123", "customJobs.get"},
        {"POST", VX "customJobs/123:cancel", "customJobs.cancel"},
        {"POST", VX "trainingPipelines", "trainingPipelines.create"},
        {"GET", VX "trainingPipelines", "trainingPipelines.list"},
        {"GET", VX "trainingPipelines/9", "trainingPipelines.get"},
        {"POST", VX "trainingPipelines/9:cancel", "trainingPipelines.cancel"},
        {"POST", VX "models:upload", "models.upload"},
        {"GET", VX "models", "models.list"},
        {"GET", VX "models/churn", "models.get"},
        {"GET", VX "models/churn@3", "models.get"},
        {"GET", VX "models/churn@prod", "models.get"},
        {"GET", VX "models/churn:listVersions", "models.listVersions"},
        {"POST", VX "models/churn@2:mergeVersionAliases", "models.mergeVersionAliases"},
        {"GET", VX "models/churn@2/evaluations", "models.evaluations.list"},
        {"GET", VX "models/churn/evaluations", "models.evaluations.list"},
        {"GET", VX "models/churn@production/evaluations/123", "models.evaluations.get"},
        {"POST", VX "models/churn@2/evaluations:import", "models.evaluations.import"},
        {"GET", VX "models/churn/operations/77", "operations.get"},
        {"GET", VX "models/churn/operations", "operations.list"},
        {"GET", "/oauth2/v3/certs", "oidc.jwks"},
        {"GET", "/.well-known/openid-configuration", "oidc.discovery"},
        {"GET", "/computeMetadata/v1/instance/service-accounts/default/token", "metadata.token"},
        {"GET", "/computeMetadata/v1/project/project-id", "metadata.project_id"},
        {"POST", "/token", "oauth.token"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = emu_route_of(cases[i].method, cases[i].path);
        assert_non_null(got);
        assert_string_equal(got, cases[i].route);
        assert_ptr_equal(emu_route_canonical(got), emu_route_canonical(cases[i].route));
    }
}

static void test_what_no_service_answers_has_no_route(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"DELETE", VX "customJobs/1"},
        {"GET", VX "customJobs/1:cancel"},
        {"POST", VX "customJobs/1"},
        {"GET", VX "customJobs/1/x"},
        {"GET", VX "customJobs/"},
        {"GET", VX "customJobsX"},
        {"GET", VX "models:upload"},
        {"GET", VX "models/churn@2/operations/1"},
        {"GET", VX "models/@2"},
        {"POST", VX "models/churn:listVersions"},
        {"POST", VX "models/churn@2/evaluations"},
        {"GET", VX "models/churn@2/evaluations:import"},
        {"GET", VX "models/churn@2/evaluations/1/x"},
        {"GET", "/v1/projects/p/locations/customJobs"},
        {"GET", "/v1/projects//locations/l/customJobs"},
        {"GET", "/emulator/stats"},
        {"POST", "/emulator/oidc/mint"},
        {"GET", "/token"},
        {"GET", "/oauth2/v3/certs/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_null(emu_route_of(cases[i][0], cases[i][1]));
    assert_null(emu_route_canonical("customJobs.delete"));
    assert_null(emu_route_canonical("fault.429"));
}

static void test_tally_counts_by_name(void **state)
{
    (void)state;
    emu_tally t = {0};
    emu_tally_add(&t, "customJobs.get");
    emu_tally_add(&t, "customJobs.get");
    emu_tally_add(&t, "customJobs.create");
    assert_int_equal(emu_tally_get(&t, "customJobs.get"), 2);
    assert_int_equal(emu_tally_get(&t, "customJobs.create"), 1);
    assert_int_equal(emu_tally_get(&t, "models.get"), 0);
    json_t *j = emu_tally_json(&t);
    assert_int_equal(json_integer_value(json_object_get(j, "customJobs.get")), 2);
    assert_int_equal(json_object_size(j), 2);
    json_decref(j);
}

/* ---- settings ----------------------------------------------------------------------------- */

/* POSTs BODY to the settings; returns the answer's status. */
static int set_faults(const char *body)
{
    emu_request req = {
        .method = "POST", .path = "/emulator/faults", .body = body, .body_len = strlen(body)};
    emu_response resp = {.status = 500};
    emu_faults_set(&req, &resp);
    free(resp.body);
    return resp.status;
}

/* The fault a request gets under the current settings (and counts it). */
static emu_fault pick(const char *method, const char *path)
{
    return emu_fault_pick(method, path, emu_route_of(method, path));
}

static int teardown(void **state)
{
    (void)state;
    emu_faults_reset();
    return 0;
}

static void test_reads_refused_creates_pass(void **state)
{
    (void)state;
    assert_int_equal(set_faults("{\"rate_429\":1,\"methods\":\"GET\"}"), 200);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_429);
    assert_int_equal(pick("GET", VX "trainingPipelines"), EMU_FAULT_429);
    assert_int_equal(pick("GET", VX "models/m/operations/5"), EMU_FAULT_429);
    assert_int_equal(pick("POST", VX "customJobs"), EMU_FAULT_NONE);
    assert_int_equal(pick("POST", VX "customJobs/1:cancel"), EMU_FAULT_NONE);
    /* paths still defaults to /v1/: the issuer and the control paths are spared. */
    assert_int_equal(pick("GET", "/oauth2/v3/certs"), EMU_FAULT_NONE);
    assert_int_equal(pick("GET", "/emulator/stats"), EMU_FAULT_NONE);
}

static void test_creates_refused_reads_pass(void **state)
{
    (void)state;
    assert_int_equal(
        set_faults(
            "{\"rate_429\":1,\"routes\":[\"customJobs.create\",\"trainingPipelines.create\"]}"),
        200);
    assert_int_equal(pick("POST", VX "customJobs"), EMU_FAULT_429);
    assert_int_equal(pick("POST", VX "trainingPipelines"), EMU_FAULT_429);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_NONE);
    assert_int_equal(pick("GET", VX "customJobs"), EMU_FAULT_NONE);
    assert_int_equal(pick("POST", VX "models:upload"), EMU_FAULT_NONE);
}

static void test_selectors_combine(void **state)
{
    (void)state;
    /* A route and a method: both must hold. */
    assert_int_equal(set_faults("{\"rate_503\":1,\"routes\":\"customJobs.cancel\","
                                "\"methods\":[\"GET\"]}"),
                     200);
    assert_int_equal(pick("POST", VX "customJobs/1:cancel"), EMU_FAULT_NONE);
    /* Routes alone reach every path; with paths, the prefix must hold too. */
    assert_int_equal(set_faults("{\"rate_503\":1,\"routes\":[\"oidc.jwks\"]}"), 200);
    assert_int_equal(pick("GET", "/oauth2/v3/certs"), EMU_FAULT_503);
    assert_int_equal(set_faults("{\"rate_503\":1,\"routes\":[\"oidc.jwks\"],\"paths\":\"/v1/\"}"),
                     200);
    assert_int_equal(pick("GET", "/oauth2/v3/certs"), EMU_FAULT_NONE);
    /* Paths alone work as before. */
    assert_int_equal(set_faults("{\"rate_503\":1,\"paths\":\"" VX "models\"}"), 200);
    assert_int_equal(pick("GET", VX "models/m"), EMU_FAULT_503);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_NONE);
    /* A path no route names is taken by paths, never by routes. */
    assert_int_equal(pick("GET", VX "models/m/unknown"), EMU_FAULT_503);
    assert_int_equal(set_faults("{\"rate_503\":1,\"routes\":[\"models.get\"]}"), 200);
    assert_int_equal(pick("GET", VX "models/m/unknown"), EMU_FAULT_NONE);
}

static void test_empty_object_turns_faults_off(void **state)
{
    (void)state;
    assert_int_equal(set_faults("{\"rate_503\":1}"), 200);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_503);
    assert_int_equal(set_faults("{}"), 200);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_NONE);
    assert_int_equal(pick("POST", VX "customJobs"), EMU_FAULT_NONE);
}

static void test_limit_stops_after_n_faults(void **state)
{
    (void)state;
    assert_int_equal(set_faults("{\"rate_429\":1,\"routes\":\"customJobs.get\",\"limit\":2}"), 200);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_429);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_429);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_NONE);
    /* A new setting starts its own count. */
    assert_int_equal(set_faults("{\"rate_429\":1,\"routes\":\"customJobs.get\",\"limit\":1}"), 200);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_429);
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_NONE);
}

static void test_seeded_draws_repeat(void **state)
{
    (void)state;
    emu_fault first[32];
    assert_int_equal(set_faults("{\"rate_429\":0.5,\"methods\":\"GET\",\"seed\":42}"), 200);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(pick("POST", VX "customJobs"), EMU_FAULT_NONE); /* draws nothing */
        first[i] = pick("GET", VX "customJobs/1");
    }
    assert_int_equal(set_faults("{\"rate_429\":0.5,\"methods\":\"GET\",\"seed\":42}"), 200);
    int refused = 0;
    for (int i = 0; i < 32; i++) {
        emu_fault k = pick("GET", VX "customJobs/1");
        assert_int_equal(k, first[i]);
        refused += k == EMU_FAULT_429;
    }
    assert_in_range(refused, 4, 28);
}

static void test_bad_settings_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"methods\":\"get\"}",
        "{\"methods\":\"FETCH\"}",
        "{\"methods\":[]}",
        "{\"methods\":[\"GET\",1]}",
        "{\"routes\":\"customJobs.delete\"}",
        "{\"routes\":[\"customJobs.get\",\"fault.429\"]}",
        "{\"routes\":[]}",
        "{\"routes\":7}",
        "{\"limit\":-1}",
        "{\"limit\":1.5}",
        "{\"rate_429\":2}",
        "{\"rate_429\":null}",
        "{\"latency\":10}",
        "[]",
    };
    assert_int_equal(set_faults("{\"rate_429\":1,\"methods\":\"GET\"}"), 200);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(set_faults(bad[i]), 400);
    /* A refused setting leaves the one before in place. */
    assert_int_equal(pick("GET", VX "customJobs/1"), EMU_FAULT_429);
}

/* ---- answers and counts ------------------------------------------------------------------- */

static void test_429_is_googles(void **state)
{
    (void)state;
    emu_response resp = {.status = 500};
    assert_true(emu_fault_answer(EMU_FAULT_429, &resp));
    assert_int_equal(resp.status, 429);
    assert_string_equal(resp.route, "fault.429");
    json_t *body = json_loads(resp.body, 0, NULL);
    assert_non_null(body);
    json_t *err = json_object_get(body, "error");
    assert_int_equal(json_integer_value(json_object_get(err, "code")), 429);
    assert_string_equal(json_string_value(json_object_get(err, "status")), "RESOURCE_EXHAUSTED");
    const char *msg = json_string_value(json_object_get(err, "message"));
    assert_non_null(msg);
    assert_int_equal(strncmp(msg, "Quota exceeded for aiplatform.googleapis.com/", 45), 0);
    json_t *info = json_array_get(json_object_get(err, "details"), 0);
    assert_string_equal(json_string_value(json_object_get(info, "@type")),
                        "type.googleapis.com/google.rpc.ErrorInfo");
    assert_string_equal(json_string_value(json_object_get(info, "reason")), "RATE_LIMIT_EXCEEDED");
    json_decref(body);
    free(resp.body);

    emu_response none = {.status = 500};
    assert_false(emu_fault_answer(EMU_FAULT_NONE, &none));
    assert_false(emu_fault_answer(EMU_FAULT_TRUNCATE, &none));
    assert_null(none.body);
}

static void test_faults_counted_per_route(void **state)
{
    (void)state;
    emu_faults_reset();
    assert_int_equal(set_faults("{\"rate_429\":1,\"methods\":\"GET\"}"), 200);
    pick("GET", VX "customJobs/1");
    pick("GET", VX "customJobs/1");
    pick("GET", VX "models/m/operations/1");
    pick("GET", VX "no/such/thing");
    pick("POST", VX "customJobs");
    assert_int_equal(set_faults("{\"rate_503\":1,\"routes\":\"customJobs.create\"}"), 200);
    pick("POST", VX "customJobs");
    json_t *out = json_object();
    emu_faults_stats(out);
    json_t *by_route = json_object_get(out, "faults_by_route");
    assert_int_equal(json_integer_value(json_object_get(by_route, "customJobs.get")), 2);
    assert_int_equal(json_integer_value(json_object_get(by_route, "operations.get")), 1);
    assert_int_equal(json_integer_value(json_object_get(by_route, "other")), 1);
    assert_int_equal(json_integer_value(json_object_get(by_route, "customJobs.create")), 1);
    json_t *f = json_object_get(out, "faults");
    assert_int_equal(json_integer_value(json_object_get(f, "exhausted_429")), 4);
    assert_int_equal(json_integer_value(json_object_get(f, "unavailable_503")), 1);
    json_decref(out);
    /* reset clears the counts. */
    emu_faults_reset();
    out = json_object();
    emu_faults_stats(out);
    assert_int_equal(json_object_size(json_object_get(out, "faults_by_route")), 0);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vertex_routes_named_as_in_stats),
        cmocka_unit_test(test_what_no_service_answers_has_no_route),
        cmocka_unit_test(test_tally_counts_by_name),
        cmocka_unit_test_teardown(test_reads_refused_creates_pass, teardown),
        cmocka_unit_test_teardown(test_creates_refused_reads_pass, teardown),
        cmocka_unit_test_teardown(test_selectors_combine, teardown),
        cmocka_unit_test_teardown(test_empty_object_turns_faults_off, teardown),
        cmocka_unit_test_teardown(test_limit_stops_after_n_faults, teardown),
        cmocka_unit_test_teardown(test_seeded_draws_repeat, teardown),
        cmocka_unit_test_teardown(test_bad_settings_refused, teardown),
        cmocka_unit_test(test_429_is_googles),
        cmocka_unit_test_teardown(test_faults_counted_per_route, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

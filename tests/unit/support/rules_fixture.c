/* rules_fixture — see rules_fixture.h. */
#include "rules_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *fixture_json(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "rules_fixture: bad test JSON: %s at %d:%d\n", e.text, e.line, e.column);
        abort();
    }
    return v;
}

json_t *fixture_rule(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/data/config/rules/%s.json", name);
    json_error_t e;
    json_t *r = json_load_file(path, 0, &e);
    if (!r) {
        fprintf(stderr, "rules_fixture: %s: %s (run from the repository root)\n", path, e.text);
        abort();
    }
    return r;
}

json_t *fixture_rules(const char *names)
{
    json_t *arr = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", names);
    char *save = NULL;
    for (char *n = strtok_r(buf, " ", &save); n; n = strtok_r(NULL, " ", &save))
        json_array_append_new(arr, fixture_rule(n));
    return arr;
}

int rules_fixture_setup(void **state)
{
    rules_fixture *f = calloc(1, sizeof *f);
    json_t *arr = fixture_rules("churn register train");
    char err[1024];
    if (!f || rules_compile(arr, &f->rs, err, sizeof err) != 0 || !(f->a = arena_new(0))) {
        fprintf(stderr, "rules_fixture: %s\n", err);
        json_decref(arr);
        free(f);
        return -1;
    }
    json_decref(arr);
    *state = f;
    return 0;
}

int rules_fixture_teardown(void **state)
{
    rules_fixture *f = *state;
    rules_free(f->rs);
    arena_free(f->a);
    free(f);
    return 0;
}

cloudevent fixture_event(const char *type, const char *subject)
{
    return (cloudevent){.id = "4242",
                        .source = "//storage.googleapis.com/projects/_/buckets/acme-data",
                        .specversion = "1.0",
                        .type = type,
                        .subject = subject,
                        .time = "2026-11-26T07:00:00Z"};
}

storage_object fixture_object(const char *bucket, const char *name)
{
    return (storage_object){.bucket = bucket, .name = name, .generation = "17"};
}

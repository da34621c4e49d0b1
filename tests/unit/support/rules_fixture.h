/* rules_fixture — test-only: the base rules of the config cases (tests/data/config/rules/: churn,
 * a train_and_register rule; register, named saved-models; train, named nightly), so the rules
 * tests in C and the config cases start from the same rules, and events to match them with.
 *
 * Run from the repository's root (tests/run-unit.sh does). */
#ifndef TEST_RULES_FIXTURE_H
#define TEST_RULES_FIXTURE_H

#include <jansson.h>

#include "arena.h"
#include "rules.h"

#define FIXTURE_FINALIZED "google.cloud.storage.object.v1.finalized"

/* TEXT as JSON (new reference; aborts the test when it is no JSON). */
json_t *fixture_json(const char *text);
/* tests/data/config/rules/NAME.json (new reference; aborts when it cannot be read). */
json_t *fixture_rule(const char *name);
/* An array of the base rules NAMES names, blank-separated ("churn train churn"). */
json_t *fixture_rules(const char *names);

/* The three base rules compiled, and an arena: a cmocka fixture (state: a rules_fixture). */
typedef struct {
    rules *rs;
    arena *a;
} rules_fixture;

int rules_fixture_setup(void **state);
int rules_fixture_teardown(void **state);

/* A CloudEvent of TYPE and SUBJECT (may be NULL) from the acme-data bucket, id 4242. */
cloudevent fixture_event(const char *type, const char *subject);
/* A storage object of BUCKET and NAME, generation 17. */
storage_object fixture_object(const char *bucket, const char *name);

#endif

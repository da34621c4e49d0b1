/* The Vertex body cases (tests/data/bodies/NAME.case, see tests/data/README.md): a rules array
 * and an event in, the request body the retrain function sends to Vertex AI out. The event (a
 * CloudEvent in its JSON form) is read with ce_from_json(), its data as the StorageObjectData
 * of a Cloud Storage event (as retrain.c reads it), matched against the compiled rules; the rule
 * it matches must be the one the case names, and retrain_request_body() must build the body the
 * case shows, JSON for JSON, or refuse with the message it shows. Every body expected is also
 * checked against the emulator's strict Vertex AI schema (tests/emulator/vschema.c), so no case
 * holds a body Vertex would refuse. One cmocka test per file.
 *
 *   test_body_cases [DIR]           run every case in DIR (default tests/data/bodies)
 *   test_body_cases --seeds OUT     write each event as fuzz seeds: OUT/cloudevent/ ('J' and its
 *                                   JSON, the replay path's input), OUT/storage_object/ (its data)
 */
#include "../emulator/vschema.c"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "builtins.h"

#include "cloudevent.h"
#include "config.h"
#include "ledger.h"
#include "media_type.h"
#include "retrain_body.h"
#include "rules.h"
#include "storage_object.h"
#include "support/case_file.h"

#define CASES_DIR "tests/data/bodies"
#define STORAGE_TYPE_PREFIX "google.cloud.storage.object.v1."

static const char *const known_keys[] = {"rule", "error", "key", "config", NULL};
static const char *const known_sections[] = {"rules", "event", "body", NULL};

/* S with every "${event_key}" and "${event_label}" replaced (malloc'd). */
static char *fill(const char *s, size_t len, const char *key, const char *label)
{
    size_t cap = len + 1;
    for (const char *p = s; (p = strstr(p, "${event_")); p++)
        cap += 64;
    char *out = malloc(cap), *w = out;
    for (size_t i = 0; i < len;) {
        if (strncmp(s + i, "${event_key}", 12) == 0) {
            w = stpcpy(w, key);
            i += 12;
        } else if (strncmp(s + i, "${event_label}", 14) == 0) {
            w = stpcpy(w, label);
            i += 14;
        } else {
            *w++ = s[i++];
        }
    }
    *w = '\0';
    return out;
}

/* The rules of C: its rules section, or the rules of the config file its config: line names. */
static json_t *rules_json(const case_file *c)
{
    const case_section *s = case_section_named(c, "rules");
    const char *file = case_value(c, "config");
    if (s && !file)
        return json_loadb(s->text, s->len, 0, NULL);
    config cfg;
    char err[CONFIG_ERR_MAX];
    if (!file || s || config_load(file, &cfg, err) != 0)
        return NULL;
    json_t *r = json_incref(json_object_get(cfg.sections, "rules"));
    config_free(&cfg);
    return r;
}

/* The schema a body of ACTION is checked against, and its proto name. */
static const vs_field *schema_of(rules_action action, const char **root)
{
    switch (action) {
    case RULES_TRAIN:
        *root = "custom_job";
        return vs_custom_job;
    case RULES_TRAIN_AND_REGISTER:
        *root = "training_pipeline";
        return vs_training_pipeline;
    case RULES_REGISTER:
        *root = "upload_model_request";
        return vs_upload_model_request;
    }
    return NULL;
}

static void run_case(void **state)
{
    const char *path = *state;
    case_file c;
    const char *bad = case_load_known(path, &c, known_keys, known_sections);
    const case_section *event = bad ? NULL : case_section_named(&c, "event");
    const case_section *body = bad ? NULL : case_section_named(&c, "body");
    const char *want_rule = bad ? NULL : case_value(&c, "rule");
    const char *want_error = bad ? NULL : case_value(&c, "error");
    if (!bad && (!event || !want_rule || !body == !want_error))
        bad = "a case has an event section, a rule: line, and a body section or an error: line";
    if (bad) {
        case_free(&c);
        fail_msg("%s: %s", path, bad);
    }
    char err[CONFIG_ERR_MAX];
    json_t *arr = rules_json(&c);
    rules *rs = NULL;
    if (!arr || rules_compile(arr, &rs, err, sizeof err) != 0)
        fail_msg("%s: the rules do not compile: %s", path, arr ? err : "no rules");
    json_decref(arr);

    json_error_t jerr;
    json_t *ev_json = json_loadb(event->text, event->len, 0, &jerr);
    if (!ev_json)
        fail_msg("%s: the event is no JSON: %s", path, jerr.text);
    cloudevent ev;
    if (ce_from_json(ev_json, c.a, &ev, err, sizeof err) != CE_OK)
        fail_msg("%s: the event is no CloudEvent: %s", path, err);
    json_decref(ev_json);
    storage_object obj;
    const storage_object *objp = NULL;
    if (strncmp(ev.type, STORAGE_TYPE_PREFIX, strlen(STORAGE_TYPE_PREFIX)) == 0 && ev.data &&
        ev.data_len && (!ev.datacontenttype || media_type_str_is_json(ev.datacontenttype))) {
        if (storage_object_parse(ev.data, ev.data_len, c.a, &obj, err, sizeof err) !=
            STORAGE_OBJECT_OK)
            fail_msg("%s: the event's data is no StorageObjectData: %s", path, err);
        objp = &obj;
    }
    const rule *r = rules_match(rs, &ev, objp);
    if (!r || strcmp(rules_name(r), want_rule) != 0)
        fail_msg("%s: the event matches rule %s, want %s", path, r ? rules_name(r) : "(none)",
                 want_rule);

    char key[LEDGER_KEY_HEX + 1], label[RETRAIN_EVENT_LABEL_LEN + 1];
    ledger_key(ev.source, ev.id, key);
    retrain_event_label(key, label);
    const char *key_line = case_value(&c, "key");
    bool no_key = key_line && strcmp(key_line, "(none)") == 0;
    if (key_line && !no_key)
        fail_msg("%s: key: (none) is the only value (the key is the ledger's, of source and id)",
                 path);
    template_vars vars;
    assert_int_equal(rules_vars_for_event(r, &ev, objp, no_key ? NULL : key, c.a, &vars), 0);
    err[0] = '\0';
    json_t *got = retrain_request_body(r, &vars, c.a, err, sizeof err);
    if (want_error) {
        if (got) {
            char *text = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
            fail_msg("%s: a body was built, want the error \"%s\": %s", path, want_error, text);
        }
        if (strcmp(err, want_error) != 0)
            fail_msg("%s: the error is \"%s\", want \"%s\"", path, err, want_error);
    } else {
        if (!got)
            fail_msg("%s: no body: %s", path, err);
        char *text = fill(body->text, body->len, key, label);
        json_t *want = json_loads(text, 0, &jerr);
        free(text);
        if (!want)
            fail_msg("%s: the body section is no JSON: %s", path, jerr.text);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
            char *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
            fprintf(stderr, "got  %s\nwant %s\n", g, w); /* whole: cmocka cuts long text */
            fail_msg("%s: the body differs (above)", path);
        }
        const char *root = "";
        const vs_field *schema = schema_of(rules_action_of(r), &root);
        char msg[1024], field[512];
        if (vs_check(want, schema, root, msg, sizeof msg, field, sizeof field) != VS_OK)
            fail_msg("%s: the emulator's Vertex AI would refuse this body: %s (%s)", path, msg,
                     field);
        json_decref(want);
    }
    json_decref(got);
    rules_free(rs);
    case_free(&c);
}

/* ---- --seeds --------------------------------------------------------------------------------- */

/* OUT/cloudevent/body-NAME ('J' and the event's JSON) and OUT/storage_object/body-NAME (its
 * data). */
static int seed(const char *path, const char *out)
{
    case_file c;
    const char *bad = case_load(path, &c);
    const case_section *e = bad ? NULL : case_section_named(&c, "event");
    json_t *ev = e ? json_loadb(e->text, e->len, 0, NULL) : NULL;
    char dir[4096], name[512];
    snprintf(name, sizeof name, "body-%s", c.name ? c.name : "x");
    int rc = 0;
    if (!ev) {
        fprintf(stderr, "%s: %s\n", path, bad ? bad : "no event");
        rc = 1;
    } else {
        char *text = json_dumps(ev, JSON_COMPACT), *j = NULL;
        snprintf(dir, sizeof dir, "%s/cloudevent", out);
        if (asprintf(&j, "J%s", text) > 0)
            rc |= case_write(dir, name, j, strlen(j));
        json_t *data = json_object_get(ev, "data");
        char *dt = json_is_object(data) ? json_dumps(data, JSON_COMPACT) : NULL;
        snprintf(dir, sizeof dir, "%s/storage_object", out);
        if (dt)
            rc |= case_write(dir, name, dt, strlen(dt));
        free(dt);
        free(j);
        free(text);
    }
    json_decref(ev);
    case_free(&c);
    return rc;
}

int main(int argc, char **argv)
{
    builtins_register(); /* as the binaries do: the retrain function claims its config keys */
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
        return case_seeds(CASES_DIR, argv[2],
                          (const char *const[]){"cloudevent", "storage_object", NULL}, seed);
    return case_run_all("body_cases", argc > 1 ? argv[1] : CASES_DIR, run_case);
}

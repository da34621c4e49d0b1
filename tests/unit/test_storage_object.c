/* Unit tests for src/storage_object: a full Cloud Storage payload, int64 forms, and one test
 * per malformed input with its own status and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "printable.h"
#include "storage_object.h"

/* A finalized event's data as Cloud Storage sends it. */
static const char full_object[] =
    "{\"kind\":\"storage#object\",\"id\":\"acme-data/datasets/churn/a.csv/1732600000000000\","
    "\"selfLink\":\"https://www.googleapis.com/storage/v1/b/acme-data/o/datasets%2Fchurn%2Fa.csv\","
    "\"name\":\"datasets/churn/"
    "a.csv\",\"bucket\":\"acme-data\",\"generation\":\"1732600000000000\","
    "\"metageneration\":\"1\",\"contentType\":\"text/csv\","
    "\"timeCreated\":\"2026-11-26T07:00:00.000Z\",\"updated\":\"2026-11-26T07:00:00.000Z\","
    "\"storageClass\":\"STANDARD\",\"timeStorageClassUpdated\":\"2026-11-26T07:00:00.000Z\","
    "\"size\":\"1024\",\"md5Hash\":\"1B2M2Y8AsgTpgAmY7PhCfg==\","
    "\"mediaLink\":\"https://storage.googleapis.com/download/storage/v1/b/acme-data/o/x\","
    "\"crc32c\":\"AAAAAA==\",\"etag\":\"CIDw4+mq/ooDEAE=\","
    "\"metadata\":{\"owner\":\"ml-team\",\"run\":\"42\"}}";

typedef struct {
    arena *a;
    storage_object obj;
    char err[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || !(f->a = arena_new(0)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    arena_free(f->a);
    free(f);
    return 0;
}

static storage_object_status parse(fixture *f, const char *json)
{
    return storage_object_parse(json, strlen(json), f->a, &f->obj, f->err, sizeof f->err);
}

static void test_full_object(void **state)
{
    fixture *f = *state;
    assert_int_equal(parse(f, full_object), STORAGE_OBJECT_OK);
    assert_string_equal(f->obj.bucket, "acme-data");
    assert_string_equal(f->obj.name, "datasets/churn/a.csv");
    assert_string_equal(f->obj.generation, "1732600000000000");
    assert_string_equal(f->obj.metageneration, "1");
    assert_string_equal(f->obj.size, "1024");
    assert_string_equal(f->obj.content_type, "text/csv");
    assert_string_equal(f->obj.md5_hash, "1B2M2Y8AsgTpgAmY7PhCfg==");
    assert_string_equal(f->obj.crc32c, "AAAAAA==");
    assert_string_equal(f->obj.time_created, "2026-11-26T07:00:00.000Z");
    assert_string_equal(f->obj.updated, "2026-11-26T07:00:00.000Z");
    assert_string_equal(f->obj.storage_class, "STANDARD");
    assert_string_equal(f->obj.etag, "CIDw4+mq/ooDEAE=");
    assert_string_equal(f->obj.id, "acme-data/datasets/churn/a.csv/1732600000000000");
    assert_string_equal(f->obj.kind, "storage#object");
    assert_non_null(strstr(f->obj.self_link, "/b/acme-data/o/"));
    assert_non_null(strstr(f->obj.media_link, "/download/storage/v1/"));
    assert_int_equal(f->obj.n_metadata, 2);
    assert_string_equal(storage_object_metadata(&f->obj, "owner"), "ml-team");
    assert_string_equal(storage_object_metadata(&f->obj, "run"), "42");
    assert_null(storage_object_metadata(&f->obj, "absent"));
    assert_string_equal(storage_object_gcs_uri(&f->obj, f->a),
                        "gs://acme-data/datasets/churn/a.csv");
}

static void test_minimal_object(void **state)
{
    fixture *f = *state;
    assert_int_equal(parse(f, "{\"bucket\":\"b\",\"name\":\"n\"}"), STORAGE_OBJECT_OK);
    assert_string_equal(f->obj.bucket, "b");
    assert_string_equal(f->obj.name, "n");
    assert_null(f->obj.generation);
    assert_null(f->obj.size);
    assert_null(f->obj.content_type);
    assert_null(f->obj.metadata);
    assert_int_equal(f->obj.n_metadata, 0);
}

static void test_int64_as_number_and_null_fields(void **state)
{
    fixture *f = *state;
    assert_int_equal(parse(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":1732600000000000,"
                              "\"size\":0,\"contentType\":null,\"metadata\":null}"),
                     STORAGE_OBJECT_OK);
    assert_string_equal(f->obj.generation, "1732600000000000");
    assert_string_equal(f->obj.size, "0");
    assert_null(f->obj.content_type);
    assert_int_equal(f->obj.n_metadata, 0);
}

static void test_unknown_fields_ignored(void **state)
{
    fixture *f = *state;
    assert_int_equal(parse(f, "{\"bucket\":\"b\",\"name\":\"n\",\"eventBasedHold\":true,"
                              "\"customerEncryption\":{\"encryptionAlgorithm\":\"AES256\"}}"),
                     STORAGE_OBJECT_OK);
}

static void expect(fixture *f, const char *json, storage_object_status want, const char *msg)
{
    assert_int_equal(parse(f, json), want);
    if (!strstr(f->err, msg))
        fail_msg("input %s: error \"%s\" lacks \"%s\"", json, f->err, msg);
    assert_null(f->obj.bucket);
    assert_null(f->obj.name);
}

static void test_not_json(void **state)
{
    fixture *f = *state;
    expect(f, "{\"bucket\":", STORAGE_OBJECT_ERR_JSON, "not JSON");
    expect(f, "", STORAGE_OBJECT_ERR_JSON, "not JSON");
    expect(f, "bucket=b", STORAGE_OBJECT_ERR_JSON, "not JSON");
    assert_int_equal(storage_object_parse(NULL, 0, f->a, &f->obj, f->err, sizeof f->err),
                     STORAGE_OBJECT_ERR_JSON);
    /* Raw control bytes and a long run of input never reach the message as they are. */
    expect(f, "{\"bucket\":\x7f\x01\x02}", STORAGE_OBJECT_ERR_JSON, "not JSON");
    for (const char *p = f->err; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
}

static void test_not_object(void **state)
{
    fixture *f = *state;
    expect(f, "[\"b\",\"n\"]", STORAGE_OBJECT_ERR_NOT_OBJECT, "must be a JSON object");
    expect(f, "\"gs://b/n\"", STORAGE_OBJECT_ERR_NOT_OBJECT, "must be a JSON object");
    expect(f, "null", STORAGE_OBJECT_ERR_NOT_OBJECT, "must be a JSON object");
}

static void test_missing_bucket_or_name(void **state)
{
    fixture *f = *state;
    expect(f, "{\"name\":\"n\"}", STORAGE_OBJECT_ERR_MISSING, "bucket: required");
    expect(f, "{\"bucket\":\"\",\"name\":\"n\"}", STORAGE_OBJECT_ERR_MISSING, "bucket: required");
    expect(f, "{\"bucket\":\"b\"}", STORAGE_OBJECT_ERR_MISSING, "name: required");
    expect(f, "{\"bucket\":\"b\",\"name\":\"\"}", STORAGE_OBJECT_ERR_MISSING, "name: required");
    expect(f, "{\"bucket\":\"b\",\"name\":null}", STORAGE_OBJECT_ERR_MISSING, "name: required");
}

static void test_wrong_types(void **state)
{
    fixture *f = *state;
    expect(f, "{\"bucket\":7,\"name\":\"n\"}", STORAGE_OBJECT_ERR_TYPE, "bucket: must be a string");
    expect(f, "{\"bucket\":\"b\",\"name\":[\"n\"]}", STORAGE_OBJECT_ERR_TYPE,
           "name: must be a string");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"contentType\":1}", STORAGE_OBJECT_ERR_TYPE,
           "contentType: must be a string");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"metadata\":[]}", STORAGE_OBJECT_ERR_TYPE,
           "metadata: must be an object");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"metadata\":{\"k\":1}}", STORAGE_OBJECT_ERR_TYPE,
           "metadata.k: must be a string");
}

static void test_bad_int64(void **state)
{
    fixture *f = *state;
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":\"12a\"}", STORAGE_OBJECT_ERR_TYPE,
           "generation: must be a string of at most 19 digits");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":\"\"}", STORAGE_OBJECT_ERR_TYPE,
           "generation: must be a string");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":\"-1\"}", STORAGE_OBJECT_ERR_TYPE,
           "generation: must be a string");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":\"12345678901234567890\"}",
           STORAGE_OBJECT_ERR_TYPE, "generation: must be a string of at most 19 digits");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":-5}", STORAGE_OBJECT_ERR_TYPE,
           "generation: must be a string of digits or a non-negative integer");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":1.5}", STORAGE_OBJECT_ERR_TYPE,
           "generation: must be a string of digits");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"size\":true}", STORAGE_OBJECT_ERR_TYPE,
           "size: must be a string of digits");
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"metageneration\":\"x\"}", STORAGE_OBJECT_ERR_TYPE,
           "metageneration: must be");
}

static void test_duplicate_keys_refused(void **state)
{
    fixture *f = *state;
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"bucket\":\"evil\"}", STORAGE_OBJECT_ERR_JSON,
           "duplicate object key");
}

static void test_name_too_long(void **state)
{
    fixture *f = *state;
    char json[1200];
    int n = snprintf(json, sizeof json, "{\"bucket\":\"b\",\"name\":\"");
    memset(json + n, 'x', STORAGE_OBJECT_NAME_MAX + 1);
    strcpy(json + n + STORAGE_OBJECT_NAME_MAX + 1, "\"}");
    expect(f, json, STORAGE_OBJECT_ERR_TYPE, "name: longer than 1024 bytes");
    strcpy(json + n + STORAGE_OBJECT_NAME_MAX, "\"}"); /* exactly the limit */
    assert_int_equal(parse(f, json), STORAGE_OBJECT_OK);
}

static void test_error_does_not_echo_input(void **state)
{
    fixture *f = *state;
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"generation\":\"SECRETSECRET\"}",
           STORAGE_OBJECT_ERR_TYPE, "generation");
    assert_null(strstr(f->err, "SECRET"));
}

/* A metadata key is the uploader's text: it reaches the message by the printable policy
 * (printable.h), escaped and bounded, never raw, never cut inside a character. */
static void test_error_renders_a_key_printably(void **state)
{
    fixture *f = *state;
    expect(f, "{\"bucket\":\"b\",\"name\":\"n\",\"metadata\":{\"a\\\"b\\u001b[2J\\u202ez\":1}}",
           STORAGE_OBJECT_ERR_TYPE, "metadata.a\\\"b\\x1B[2J\\u{202E}z: must be a string");
    assert_true(prt_is_printable(f->err, strlen(f->err)));
    /* 64 ASCII bytes then 2-byte characters, where a byte count would cut one. */
    char json[300];
    snprintf(json, sizeof json,
             "{\"bucket\":\"b\",\"name\":\"n\",\"metadata\":{\"%064d\xc3\xa9\xc3\xa9\":1}}", 0);
    assert_int_equal(parse(f, json), STORAGE_OBJECT_ERR_TYPE);
    assert_true(prt_utf8_valid(f->err, strlen(f->err)));
    assert_non_null(strstr(f->err, "...: must be a string"));
    /* jansson's complaint quotes the document's bytes: printable too. */
    assert_int_equal(parse(f, "{\"bucket\":\"acme\x7f\xfd\"}"), STORAGE_OBJECT_ERR_JSON);
    assert_true(prt_is_printable(f->err, strlen(f->err)));
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(storage_object_status_name(STORAGE_OBJECT_OK), "ok");
    assert_string_equal(storage_object_status_name(STORAGE_OBJECT_ERR_JSON), "invalid_json");
    assert_string_equal(storage_object_status_name(STORAGE_OBJECT_ERR_NOT_OBJECT), "not_an_object");
    assert_string_equal(storage_object_status_name(STORAGE_OBJECT_ERR_MISSING), "missing_field");
    assert_string_equal(storage_object_status_name(STORAGE_OBJECT_ERR_TYPE), "wrong_type");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_full_object),
        T(test_minimal_object),
        T(test_int64_as_number_and_null_fields),
        T(test_unknown_fields_ignored),
        T(test_not_json),
        T(test_not_object),
        T(test_missing_bucket_or_name),
        T(test_wrong_types),
        T(test_bad_int64),
        T(test_duplicate_keys_refused),
        T(test_name_too_long),
        T(test_error_does_not_echo_input),
        T(test_error_renders_a_key_printably),
        T(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

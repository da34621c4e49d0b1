/* Unit tests for pubsub_push: detection, the Cloud Storage mapping (every event type, a real
 * notification's shape), the Pub/Sub mapping, redeliveries giving the same event, and every
 * malformed envelope with its own status and the field its message names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "http_request.h"
#include "printable.h"
#include "pubsub_push.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A StorageObjectData as Cloud Storage writes it in a JSON_API_V1 notification. */
static const char object_json[] =
    "{\n  \"kind\": \"storage#object\",\n"
    "  \"id\": \"acme-data/datasets/churn/a.csv/1732600000000000\",\n"
    "  \"selfLink\": "
    "\"https://www.googleapis.com/storage/v1/b/acme-data/o/datasets%2Fchurn%2Fa.csv\",\n"
    "  \"name\": \"datasets/churn/a.csv\",\n  \"bucket\": \"acme-data\",\n"
    "  \"generation\": \"1732600000000000\",\n  \"metageneration\": \"1\",\n"
    "  \"contentType\": \"text/csv\",\n  \"timeCreated\": \"2026-11-26T07:00:00.000Z\",\n"
    "  \"updated\": \"2026-11-26T07:00:00.000Z\",\n  \"storageClass\": \"STANDARD\",\n"
    "  \"timeStorageClassUpdated\": \"2026-11-26T07:00:00.000Z\",\n  \"size\": \"52311\",\n"
    "  \"md5Hash\": \"XrY7u+Ae7tCTyyK7j1rNww==\",\n"
    "  \"mediaLink\": \"https://storage.googleapis.com/download/storage/v1/b/acme-data/o/"
    "datasets%2Fchurn%2Fa.csv?generation=1732600000000000&alt=media\",\n"
    "  \"crc32c\": \"yZRlqg==\",\n  \"etag\": \"CICAgJiK6IkDEAE=\"\n}\n";

typedef struct {
    arena *a;
    cloudevent ev;
    char err[256];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->a = arena_new(4096);
    *state = f;
    return f->a ? 0 : -1;
}

static int teardown(void **state)
{
    fx *f = *state;
    arena_free(f->a);
    free(f);
    return 0;
}

static json_t *b64(const char *bytes)
{
    size_t n = strlen(bytes), cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(cap);
    assert_non_null(out);
    sodium_bin2base64(out, cap, (const unsigned char *)bytes, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_string(out);
    free(out);
    return s;
}

/* A push envelope of a Cloud Storage OBJECT_FINALIZE notification, both id spellings. */
static json_t *gcs_envelope(void)
{
    json_t *env = json_pack(
        "{s:{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:s, s:s, s:s, s:s}, s:s, s:i}", "message",
        "attributes", "bucketId", "acme-data", "objectId", "datasets/churn/a.csv",
        "objectGeneration", "1732600000000000", "eventType", "OBJECT_FINALIZE", "eventTime",
        "2026-11-26T07:00:00.000Z", "notificationConfig",
        "projects/_/buckets/acme-data/notificationConfigs/1", "payloadFormat", "JSON_API_V1",
        "data", b64(object_json), "messageId", "1234567890", "message_id", "1234567890",
        "publishTime", "2026-11-26T07:00:01.123Z", "publish_time", "2026-11-26T07:00:01.123Z",
        "subscription", "projects/p/subscriptions/s", "deliveryAttempt", 1);
    assert_non_null(env);
    return env;
}

/* An ordinary Pub/Sub message (no Cloud Storage attributes). */
static json_t *plain_envelope(void)
{
    json_t *env =
        json_pack("{s:{s:{s:s}, s:o, s:s, s:s}, s:s}", "message", "attributes", "origin",
                  "scheduler", "data", b64("hello"), "messageId", "42", "publishTime",
                  "2026-11-26T08:00:00Z", "subscription", "projects/p/subscriptions/nightly");
    assert_non_null(env);
    return env;
}

static json_t *message_of(json_t *env)
{
    return json_object_get(env, "message");
}

static json_t *attrs_of(json_t *env)
{
    return json_object_get(message_of(env), "attributes");
}

static http_request request(const char *ct, const char *body, size_t len)
{
    static http_header h[2];
    size_t n = 0;
    if (ct)
        h[n++] = (http_header){"content-type", ct};
    return (http_request){.method = "POST",
                          .path = "/",
                          .query = "",
                          .remote_addr = "",
                          .headers = h,
                          .n_headers = n,
                          .body = (const unsigned char *)body,
                          .body_len = len};
}

/* Parses ENV (stolen) as a push delivery with Content-Type application/json. */
static ce_status parse(fx *f, json_t *env)
{
    char *body = json_dumps(env, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(env);
    assert_non_null(body);
    http_request req = request("application/json", body, strlen(body));
    ce_status s = psp_parse_http(&req, f->a, &f->ev, f->err, sizeof f->err);
    free(body);
    return s;
}

static void expect_error(fx *f, json_t *env, ce_status want, const char *needle)
{
    ce_status got = parse(f, env);
    if (got != want || !strstr(f->err, needle))
        fail_msg("want status %d with \"%s\", got %d: \"%s\"", want, needle, got, f->err);
    assert_null(f->ev.id);
    assert_null(f->ev.data);
}

static void test_gcs_notification(void **state)
{
    fx *f = *state;
    assert_int_equal(parse(f, gcs_envelope()), CE_OK);
    assert_string_equal(f->ev.specversion, "1.0");
    assert_string_equal(f->ev.type, "google.cloud.storage.object.v1.finalized");
    assert_string_equal(f->ev.source, "//storage.googleapis.com/projects/_/buckets/acme-data");
    assert_string_equal(f->ev.subject, "objects/datasets/churn/a.csv");
    assert_string_equal(f->ev.id, "1234567890");
    assert_string_equal(f->ev.time, "2026-11-26T07:00:00.000Z");
    assert_string_equal(f->ev.datacontenttype, "application/json");
    assert_string_equal(ce_extension(&f->ev, "bucket"), "acme-data");
    assert_int_equal(f->ev.n_extensions, 1);
    assert_null(f->ev.dataschema);
    assert_false(f->ev.structured);
    assert_int_equal(f->ev.data_len, strlen(object_json));
    assert_memory_equal(f->ev.data, object_json, strlen(object_json));
}

static void test_gcs_event_types(void **state)
{
    fx *f = *state;
    static const char *const map[][2] = {
        {"OBJECT_FINALIZE", "google.cloud.storage.object.v1.finalized"},
        {"OBJECT_METADATA_UPDATE", "google.cloud.storage.object.v1.metadataUpdated"},
        {"OBJECT_DELETE", "google.cloud.storage.object.v1.deleted"},
        {"OBJECT_ARCHIVE", "google.cloud.storage.object.v1.archived"},
    };
    for (size_t i = 0; i < LEN(map); i++) {
        json_t *env = gcs_envelope();
        json_object_set_new(attrs_of(env), "eventType", json_string(map[i][0]));
        assert_int_equal(parse(f, env), CE_OK);
        assert_string_equal(f->ev.type, map[i][1]);
        assert_string_equal(f->ev.subject, "objects/datasets/churn/a.csv");
    }
}

static void test_gcs_time_falls_back_to_publish_time(void **state)
{
    fx *f = *state;
    json_t *env = gcs_envelope();
    json_object_del(attrs_of(env), "eventTime");
    assert_int_equal(parse(f, env), CE_OK);
    assert_string_equal(f->ev.time, "2026-11-26T07:00:01.123Z");
    env = gcs_envelope();
    json_object_del(attrs_of(env), "eventTime");
    json_object_del(message_of(env), "publishTime");
    json_object_del(message_of(env), "publish_time");
    assert_int_equal(parse(f, env), CE_OK);
    assert_null(f->ev.time);
}

static void test_one_id_spelling_is_enough(void **state)
{
    fx *f = *state;
    json_t *env = gcs_envelope();
    json_object_del(message_of(env), "messageId");
    json_object_del(message_of(env), "publishTime");
    assert_int_equal(parse(f, env), CE_OK);
    assert_string_equal(f->ev.id, "1234567890");
    env = gcs_envelope();
    json_object_del(message_of(env), "message_id");
    assert_int_equal(parse(f, env), CE_OK);
    assert_string_equal(f->ev.id, "1234567890");
}

static void test_plain_message(void **state)
{
    fx *f = *state;
    json_t *env = plain_envelope();
    json_object_set_new(env, "deliveryAttempt", json_integer(3));
    assert_int_equal(parse(f, env), CE_OK);
    assert_string_equal(f->ev.type, "google.cloud.pubsub.topic.v1.messagePublished");
    assert_string_equal(f->ev.source, "//pubsub.googleapis.com/projects/p/subscriptions/nightly");
    assert_string_equal(f->ev.id, "42");
    assert_string_equal(f->ev.time, "2026-11-26T08:00:00Z");
    assert_string_equal(f->ev.datacontenttype, "application/json");
    assert_null(f->ev.subject);
    assert_int_equal(f->ev.n_extensions, 0);
    const char *want =
        "{\"message\":{\"attributes\":{\"origin\":\"scheduler\"},\"data\":\"aGVsbG8=\","
        "\"messageId\":\"42\",\"publishTime\":\"2026-11-26T08:00:00Z\"},"
        "\"subscription\":\"projects/p/subscriptions/nightly\"}";
    assert_int_equal(f->ev.data_len, strlen(want));
    assert_memory_equal(f->ev.data, want, strlen(want));
}

static void test_plain_message_minimal(void **state)
{
    fx *f = *state;
    json_t *env = json_pack("{s:{s:s}, s:s}", "message", "message_id", "7", "subscription",
                            "projects/p/subscriptions/s");
    assert_int_equal(parse(f, env), CE_OK);
    assert_string_equal(f->ev.id, "7");
    assert_null(f->ev.time);
    const char *want = "{\"message\":{\"message_id\":\"7\"},\"subscription\":\"projects/p/"
                       "subscriptions/s\"}";
    assert_int_equal(f->ev.data_len, strlen(want));
    assert_memory_equal(f->ev.data, want, strlen(want));
}

/* A redelivery (deliveryAttempt 2) is the same event: same source, id and data. */
static void test_redelivery_is_the_same_event(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 2; i++) { /* a Cloud Storage notification, then a plain message */
        json_t *first = i ? plain_envelope() : gcs_envelope();
        json_t *again = i ? plain_envelope() : gcs_envelope();
        json_object_set_new(first, "deliveryAttempt", json_integer(1));
        json_object_set_new(again, "deliveryAttempt", json_integer(2));
        assert_int_equal(parse(f, first), CE_OK);
        cloudevent one = f->ev;
        assert_int_equal(parse(f, again), CE_OK);
        assert_string_equal(one.source, f->ev.source);
        assert_string_equal(one.id, f->ev.id);
        assert_int_equal(one.data_len, f->ev.data_len);
        assert_memory_equal(one.data, f->ev.data, one.data_len);
    }
}

static bool detected(const char *ct, const char *body, const char *extra_header)
{
    http_header h[2];
    size_t n = 0;
    if (ct)
        h[n++] = (http_header){"content-type", ct};
    if (extra_header)
        h[n++] = (http_header){extra_header, "1.0"};
    http_request req = {.method = "POST",
                        .path = "/",
                        .query = "",
                        .remote_addr = "",
                        .headers = h,
                        .n_headers = n,
                        .body = (const unsigned char *)body,
                        .body_len = body ? strlen(body) : 0};
    return psp_is_envelope(&req);
}

static void test_detection(void **state)
{
    (void)state;
    json_t *env = gcs_envelope();
    char *body = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    assert_non_null(body);
    assert_true(detected("application/json", body, NULL));
    assert_true(detected("Application/JSON; charset=utf-8", body, NULL));
    assert_true(detected(NULL, body, NULL));
    assert_true(detected("", body, NULL));
    assert_false(detected("application/json", body, "ce-specversion"));
    assert_false(detected("application/cloudevents+json", body, NULL));
    assert_false(detected("text/plain", body, NULL));
    assert_true(detected("application/json ; CHARSET=\"utf-8\"", body, NULL));
    assert_false(detected("application/json-seq", body, NULL)); /* a media type, parsed */
    assert_false(detected("application/json garbage", body, NULL));
    assert_false(detected("application/json", NULL, NULL));
    assert_false(detected("application/json", "not json", NULL));
    assert_false(detected("application/json", "[1]", NULL));
    assert_false(detected("application/json", "{\"message\":\"m\",\"subscription\":\"s\"}", NULL));
    assert_false(detected("application/json", "{\"message\":{},\"subscription\":1}", NULL));
    assert_false(detected("application/json", "{\"message\":{}}", NULL));
    assert_false(detected("application/json", "{\"bucket\":\"b\",\"name\":\"n\"}", NULL));
    /* A duplicate key is still an envelope, so that the parse can say what is wrong with it. */
    assert_true(
        detected(NULL, "{\"message\":{},\"subscription\":\"a\",\"subscription\":\"b\"}", NULL));
    free(body);
}

static void test_malformed_body(void **state)
{
    fx *f = *state;
    http_request req = request("application/json", "{\"message\":", 11);
    assert_int_equal(psp_parse_http(&req, f->a, &f->ev, f->err, sizeof f->err), CE_ERR_INVALID);
    assert_non_null(strstr(f->err, "the envelope is not valid JSON"));
    const char *dup = "{\"message\":{\"messageId\":\"1\"},\"subscription\":\"projects/p/"
                      "subscriptions/s\",\"subscription\":\"projects/p/subscriptions/t\"}";
    req = request("application/json", dup, strlen(dup));
    assert_int_equal(psp_parse_http(&req, f->a, &f->ev, f->err, sizeof f->err), CE_ERR_INVALID);
    assert_non_null(strstr(f->err, "duplicate"));
    req = request("application/json", "[]", 2);
    assert_int_equal(psp_parse_http(&req, f->a, &f->ev, f->err, sizeof f->err), CE_ERR_INVALID);
    assert_non_null(strstr(f->err, "the envelope must be a JSON object"));
    char *big = malloc(PSP_BODY_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', PSP_BODY_MAX + 1);
    big[PSP_BODY_MAX + 1] = '\0';
    req = request("application/json", big, PSP_BODY_MAX + 1);
    assert_int_equal(psp_parse_http(&req, f->a, &f->ev, f->err, sizeof f->err), CE_ERR_INVALID);
    assert_non_null(strstr(f->err, "larger than"));
    free(big);
}

static void test_malformed_envelope(void **state)
{
    fx *f = *state;
    json_t *env = gcs_envelope();
    json_object_del(env, "subscription");
    expect_error(f, env, CE_ERR_MISSING, "subscription: missing");
    static const char *const bad_subs[] = {"s", "projects/p/topics/t", "projects//subscriptions/s",
                                           "projects/p/subscriptions/",
                                           "projects/p/subscriptions/s/x"};
    for (size_t i = 0; i < LEN(bad_subs); i++) {
        env = gcs_envelope();
        json_object_set_new(env, "subscription", json_string(bad_subs[i]));
        expect_error(f, env, CE_ERR_INVALID, "subscription: must be");
    }
    env = gcs_envelope();
    json_object_set_new(env, "deliveryAttempt", json_string("2"));
    expect_error(f, env, CE_ERR_INVALID, "deliveryAttempt: must be a non-negative integer");
    env = gcs_envelope();
    json_object_set_new(env, "deliveryAttempt", json_integer(-1));
    expect_error(f, env, CE_ERR_INVALID, "deliveryAttempt");
    env = gcs_envelope();
    json_object_del(env, "message");
    expect_error(f, env, CE_ERR_MISSING, "message: missing");
    env = gcs_envelope();
    json_object_set_new(env, "message", json_string("m"));
    expect_error(f, env, CE_ERR_INVALID, "message: must be a JSON object");
}

static void test_malformed_message(void **state)
{
    fx *f = *state;
    json_t *env = gcs_envelope();
    json_object_del(message_of(env), "messageId");
    json_object_del(message_of(env), "message_id");
    expect_error(f, env, CE_ERR_MISSING, "message.messageId: missing");
    env = gcs_envelope();
    json_object_set_new(message_of(env), "messageId", json_integer(1234567890));
    expect_error(f, env, CE_ERR_INVALID, "message.messageId: must be a string");
    env = gcs_envelope();
    json_object_set_new(message_of(env), "message_id", json_true());
    expect_error(f, env, CE_ERR_INVALID, "message.message_id: must be a string");
    env = gcs_envelope();
    json_object_set_new(message_of(env), "messageId", json_string(""));
    json_object_del(message_of(env), "message_id");
    expect_error(f, env, CE_ERR_INVALID, "message.messageId: must not be empty");
    env = gcs_envelope();
    json_object_set_new(message_of(env), "message_id", json_string("999"));
    expect_error(f, env, CE_ERR_INVALID, "message.messageId and message.message_id differ");
    env = gcs_envelope();
    json_object_set_new(message_of(env), "publish_time", json_string("2026-11-26T07:00:02Z"));
    expect_error(f, env, CE_ERR_INVALID, "message.publishTime and message.publish_time differ");
    env = plain_envelope();
    json_object_set_new(message_of(env), "publishTime", json_string("yesterday"));
    expect_error(f, env, CE_ERR_INVALID, "message.publishTime: attribute \"time\"");
    char huge[5000];
    memset(huge, '7', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    env = plain_envelope();
    json_object_set_new(message_of(env), "messageId", json_string(huge));
    expect_error(f, env, CE_ERR_INVALID, "message.messageId: attribute \"id\"");
}

static void test_malformed_attributes_and_data(void **state)
{
    fx *f = *state;
    json_t *env = gcs_envelope();
    json_object_set_new(message_of(env), "attributes", json_array());
    expect_error(f, env, CE_ERR_INVALID, "message.attributes: must be a JSON object");
    env = gcs_envelope();
    json_object_set_new(attrs_of(env), "bucketId", json_integer(1));
    expect_error(f, env, CE_ERR_INVALID, "message.attributes.bucketId: must be a string");
    env = plain_envelope();
    for (int i = 0; i <= PSP_ATTRS_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(attrs_of(env), key, json_string("v"));
    }
    expect_error(f, env, CE_ERR_INVALID, "message.attributes: more than 100 attributes");
    char big[1100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    env = plain_envelope();
    json_object_set_new(attrs_of(env), "origin", json_string(big));
    expect_error(f, env, CE_ERR_INVALID, "message.attributes.origin: longer than 1024 bytes");
    env = plain_envelope();
    json_object_set_new(attrs_of(env), "", json_string("v"));
    expect_error(f, env, CE_ERR_INVALID, "message.attributes: a key must be");
    static const char *const bad_b64[] = {
        "aGVsbG8", "aGVsbG8=\n", "aGVsbG9=", "aGV sbG8=", "aGVsbG8-", "!!!!"};
    for (size_t i = 0; i < LEN(bad_b64); i++) {
        env = plain_envelope();
        json_object_set_new(message_of(env), "data", json_string(bad_b64[i]));
        expect_error(f, env, CE_ERR_INVALID, "message.data: not valid base64");
    }
    env = plain_envelope();
    json_object_set_new(message_of(env), "data", json_integer(5));
    expect_error(f, env, CE_ERR_INVALID, "message.data: must be a base64 string");
}

static void test_malformed_storage_notification(void **state)
{
    fx *f = *state;
    static const char *const required[] = {"eventType", "bucketId", "objectId", "payloadFormat"};
    for (size_t i = 0; i < LEN(required); i++) {
        json_t *env = gcs_envelope();
        json_object_del(attrs_of(env), required[i]);
        char want[80];
        snprintf(want, sizeof want, "message.attributes.%s: missing", required[i]);
        expect_error(f, env, CE_ERR_MISSING, want);
    }
    static const struct {
        const char *attr, *value, *want;
    } bad[] = {
        {"eventType", "OBJECT_DELETED", "message.attributes.eventType: unknown event type"},
        {"payloadFormat", "NONE", "message.attributes.payloadFormat: \"NONE\" does not carry"},
        {"bucketId", "Acme-Data", "message.attributes.bucketId: not a bucket name"},
        {"bucketId", "ab", "message.attributes.bucketId: not a bucket name"},
        {"objectId", "", "message.attributes.objectId: must not be empty"},
        {"notificationConfig", "projects/_/buckets/other/notificationConfigs/1",
         "message.attributes.notificationConfig: must be"},
        {"notificationConfig", "projects/_/buckets/acme-data/notificationConfigs/",
         "message.attributes.notificationConfig: must be"},
        {"objectGeneration", "17x", "message.attributes.objectGeneration: must be a string of"},
        {"eventTime", "2026-13-26T07:00:00Z", "message.attributes.eventTime: attribute \"time\""},
    };
    for (size_t i = 0; i < LEN(bad); i++) {
        json_t *env = gcs_envelope();
        json_object_set_new(attrs_of(env), bad[i].attr, json_string(bad[i].value));
        expect_error(f, env, CE_ERR_INVALID, bad[i].want);
    }
    json_t *env = gcs_envelope();
    json_object_del(message_of(env), "data");
    expect_error(f, env, CE_ERR_MISSING, "message.data: missing");
    static const struct {
        const char *data, *want;
    } bad_data[] = {
        {"not json", "message.data: not a StorageObjectData (invalid_json)"},
        {"[1]", "message.data: not a StorageObjectData (not_an_object)"},
        {"{\"bucket\":\"acme-data\"}", "message.data: not a StorageObjectData (missing_field)"},
        {"{\"bucket\":\"other\",\"name\":\"datasets/churn/a.csv\"}",
         "message.data: bucket differs from message.attributes.bucketId"},
        {"{\"bucket\":\"acme-data\",\"name\":\"datasets/churn/b.csv\"}",
         "message.data: name differs from message.attributes.objectId"},
        {"{\"bucket\":\"acme-data\",\"name\":\"datasets/churn/a.csv\",\"generation\":\"1\"}",
         "message.data: generation differs from message.attributes.objectGeneration"},
    };
    for (size_t i = 0; i < LEN(bad_data); i++) {
        env = gcs_envelope();
        json_object_set_new(message_of(env), "data", b64(bad_data[i].data));
        expect_error(f, env, CE_ERR_INVALID, bad_data[i].want);
    }
}

/* Errors echo no more than 64 bytes of input, by the printable policy (printable.h). */
static void test_error_echo_is_bounded(void **state)
{
    fx *f = *state;
    char value[300];
    memset(value, 'A', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    value[3] = '\x01';
    json_t *env = gcs_envelope();
    json_object_set_new(attrs_of(env), "eventType", json_string(value));
    expect_error(f, env, CE_ERR_INVALID, "AAA\\x01AAAA");
    assert_null(strstr(f->err, "\x01"));
    assert_non_null(strstr(f->err, "..."));
    assert_true(strlen(f->err) < 64 + 200);
    /* Valid UTF-8 is kept, quotes and bidirectional overrides escaped. */
    env = gcs_envelope();
    json_object_set_new(attrs_of(env), "eventType", json_string("caf\xc3\xa9 \"x\" \xe2\x80\xae"));
    expect_error(f, env, CE_ERR_INVALID, "\"caf\xc3\xa9 \\\"x\\\" \\u{202E}\"");
    /* The data's own bytes, quoted by the JSON parser's reason, come out printable too, and are
     * not escaped twice. */
    env = gcs_envelope();
    json_object_set_new(message_of(env), "data", b64("{\"bucket\":\"acme\x7f\xfd\"}"));
    expect_error(f, env, CE_ERR_INVALID, "message.data: not a StorageObjectData (invalid_json)");
    assert_true(prt_is_printable(f->err, strlen(f->err)));
    env = gcs_envelope();
    json_object_set_new(
        message_of(env), "data",
        b64("{\"bucket\":\"acme-data\",\"name\":\"a.csv\",\"metadata\":{\"k\\\"\":1}}"));
    expect_error(f, env, CE_ERR_INVALID, "metadata.k\\\": must be a string");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_gcs_notification),
        T(test_gcs_event_types),
        T(test_gcs_time_falls_back_to_publish_time),
        T(test_one_id_spelling_is_enough),
        T(test_plain_message),
        T(test_plain_message_minimal),
        T(test_redelivery_is_the_same_event),
        T(test_detection),
        T(test_malformed_body),
        T(test_malformed_envelope),
        T(test_malformed_message),
        T(test_malformed_attributes_and_data),
        T(test_malformed_storage_notification),
        T(test_error_echo_is_bounded),
#undef T
    };
    return cmocka_run_group_tests_name("pubsub_push", tests, NULL, NULL);
}

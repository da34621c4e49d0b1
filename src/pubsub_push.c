/* pubsub_push — see pubsub_push.h.
 *
 * The envelope is read in three steps: the envelope itself (subscription, deliveryAttempt,
 * message), the message (messageId, publishTime, attributes, data), then one of two mappings —
 * a Cloud Storage notification or any other message — that gathers the event's attributes as
 * (CloudEvents name, value, envelope field) triples. Each value is checked by cloudevent's own
 * rules (UTF-8, length, RFC 3339 time) one at a time, so that a bad value is reported under the
 * envelope field it came from; the checked set then goes through ce_from_json(), the one place
 * that builds a cloudevent, and the data is attached last as the exact decoded bytes. */
#include "pubsub_push.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errtext.h"
#include "http_request.h"
#include "media_type.h"
#include "printable.h"
#include "storage_object.h"

#define PSP_ATTR_KEY_MAX 256    /* Pub/Sub's limits for an attribute */
#define PSP_ATTR_VALUE_MAX 1024 /* (the value limit also bounds objectId) */
#define PSP_RESOURCE_MAX 512    /* a subscription or notificationConfig name */
#define MAX_MAPPED 8

static const char storage_prefix[] = "//storage.googleapis.com/projects/_/buckets/";
static const char pubsub_prefix[] = "//pubsub.googleapis.com/";
static const char published_type[] = "google.cloud.pubsub.topic.v1.messagePublished";

/* Cloud Storage's notification event types and the names Eventarc gives them. */
static const struct {
    const char *event_type, *ce_type;
} storage_types[] = {
    {"OBJECT_FINALIZE", "google.cloud.storage.object.v1.finalized"},
    {"OBJECT_METADATA_UPDATE", "google.cloud.storage.object.v1.metadataUpdated"},
    {"OBJECT_DELETE", "google.cloud.storage.object.v1.deleted"},
    {"OBJECT_ARCHIVE", "google.cloud.storage.object.v1.archived"},
};

/* What one message holds once read: pointers borrowed from the parsed envelope. */
typedef struct {
    const char *subscription, *id, *publish_time;
    const json_t *message, *attributes; /* attributes NULL when absent */
    unsigned char *data;                /* decoded, in the arena; NULL when absent or empty */
    size_t data_len;
} envelope;

/* The event being assembled: attributes with the envelope field each came from. */
typedef struct {
    const char *name[MAX_MAPPED], *value[MAX_MAPPED], *field[MAX_MAPPED];
    size_t n;
} mapping;

bool psp_is_envelope(const http_request *req)
{
    if (http_header_get(req, "ce-specversion"))
        return false;
    const char *ct = http_header_get(req, "content-type");
    if (ct && *ct && !media_type_str_is(ct, "application", "json"))
        return false;
    if (req->body_len == 0 || req->body_len > PSP_BODY_MAX)
        return false;
    /* Duplicates are allowed here so that psp_parse_http() can name them as the problem. */
    json_t *root = json_loadb((const char *)req->body, req->body_len, 0, NULL);
    bool yes = json_is_object(root) && json_is_object(json_object_get(root, "message")) &&
               json_is_string(json_object_get(root, "subscription"));
    json_decref(root);
    return yes;
}

/* A member that is absent or null reads as NULL. */
static const json_t *member(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_null(v) ? NULL : v;
}

/* "projects/P/subscriptions/S" (or any "projects/P/KIND/NAME" for KIND): two non-empty segments
 * without '/', bounded. */
static bool resource_name(const char *s, const char *kind)
{
    size_t n = strlen(s), k = strlen(kind);
    if (n > PSP_RESOURCE_MAX || strncmp(s, "projects/", 9) != 0)
        return false;
    const char *p = s + 9, *slash = strchr(p, '/');
    if (!slash || slash == p || strncmp(slash + 1, kind, k) != 0 || slash[1 + k] != '/')
        return false;
    const char *name = slash + 2 + k;
    return *name && !strchr(name, '/');
}

/* A message member Pub/Sub writes in two spellings (messageId and message_id): either will do,
 * and when both are there they must agree. */
static ce_status two_spellings(const json_t *msg, const char *name, const char *alt, bool required,
                               const char **out, char *err, size_t errlen)
{
    const json_t *v = member(msg, name), *w = member(msg, alt);
    *out = NULL;
    if ((v && !json_is_string(v)) || (w && !json_is_string(w)))
        return errtext_fail(err, errlen, CE_ERR_INVALID, "message.%s: must be a string",
                            v && !json_is_string(v) ? name : alt);
    if (v && w && strcmp(json_string_value(v), json_string_value(w)) != 0)
        return errtext_fail(err, errlen, CE_ERR_INVALID, "message.%s and message.%s differ", name,
                            alt);
    if (!v)
        v = w;
    if (!v)
        return required ? errtext_fail(err, errlen, CE_ERR_MISSING, "message.%s: missing", name)
                        : CE_OK;
    if (json_string_length(v) == 0)
        return errtext_fail(err, errlen, CE_ERR_INVALID, "message.%s: must not be empty", name);
    *out = json_string_value(v);
    return CE_OK;
}

static ce_status read_attributes(const json_t *attrs, char *err, size_t errlen)
{
    if (!json_is_object(attrs))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.attributes: must be a JSON object");
    if (json_object_size(attrs) > PSP_ATTRS_MAX)
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.attributes: more than %d attributes", PSP_ATTRS_MAX);
    char buf[PRT_ECHO_SIZE];
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)attrs, key, v)
    {
        if (strlen(key) == 0 || strlen(key) > PSP_ATTR_KEY_MAX)
            return errtext_fail(err, errlen, CE_ERR_INVALID,
                                "message.attributes: a key must be 1-%d bytes", PSP_ATTR_KEY_MAX);
        if (!json_is_string(v))
            return errtext_fail(err, errlen, CE_ERR_INVALID,
                                "message.attributes.%s: must be a string",
                                prt_str(buf, sizeof buf, key));
        if (json_string_length(v) > PSP_ATTR_VALUE_MAX)
            return errtext_fail(err, errlen, CE_ERR_INVALID,
                                "message.attributes.%s: longer than %d bytes",
                                prt_str(buf, sizeof buf, key), PSP_ATTR_VALUE_MAX);
    }
    return CE_OK;
}

/* message.data: canonical standard base64 (padding required, no stray bits, no whitespace). */
static ce_status read_data(const json_t *data, arena *a, envelope *env, char *err, size_t errlen)
{
    if (!json_is_string(data))
        return errtext_fail(err, errlen, CE_ERR_INVALID, "message.data: must be a base64 string");
    const char *s = json_string_value(data), *end = NULL;
    size_t n = json_string_length(data), len = 0, cap = n / 4 * 3 + 1;
    if (n == 0)
        return CE_OK;
    unsigned char *bin = arena_alloc(a, cap);
    if (!bin)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    if (sodium_base642bin(bin, cap, s, n, NULL, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + n)
        return errtext_fail(err, errlen, CE_ERR_INVALID, "message.data: not valid base64");
    env->data = len ? bin : NULL;
    env->data_len = len;
    return CE_OK;
}

static ce_status read_envelope(const json_t *root, arena *a, envelope *env, char *err,
                               size_t errlen)
{
    if (!json_is_object(root))
        return errtext_fail(err, errlen, CE_ERR_INVALID, "the envelope must be a JSON object");
    const json_t *sub = member(root, "subscription"), *attempt = member(root, "deliveryAttempt");
    if (!sub)
        return errtext_fail(err, errlen, CE_ERR_MISSING, "subscription: missing");
    if (!json_is_string(sub) || !resource_name(json_string_value(sub), "subscriptions"))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "subscription: must be \"projects/PROJECT/subscriptions/NAME\"");
    if (attempt && (!json_is_integer(attempt) || json_integer_value(attempt) < 0))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "deliveryAttempt: must be a non-negative integer");
    env->subscription = json_string_value(sub);
    if (!(env->message = member(root, "message")))
        return errtext_fail(err, errlen, CE_ERR_MISSING, "message: missing");
    if (!json_is_object(env->message))
        return errtext_fail(err, errlen, CE_ERR_INVALID, "message: must be a JSON object");
    ce_status s =
        two_spellings(env->message, "messageId", "message_id", true, &env->id, err, errlen);
    if (s == CE_OK)
        s = two_spellings(env->message, "publishTime", "publish_time", false, &env->publish_time,
                          err, errlen);
    if (s == CE_OK && (env->attributes = member(env->message, "attributes")))
        s = read_attributes(env->attributes, err, errlen);
    const json_t *data = member(env->message, "data");
    if (s == CE_OK && data)
        s = read_data(data, a, env, err, errlen);
    return s;
}

static void map(mapping *m, const char *name, const char *value, const char *field)
{
    m->name[m->n] = name;
    m->value[m->n] = value;
    m->field[m->n] = field;
    m->n++;
}

/* The value of attribute NAME (already known to be a string), or NULL. */
static const char *attribute(const envelope *env, const char *name)
{
    const json_t *v = env->attributes ? json_object_get(env->attributes, name) : NULL;
    return json_string_value(v);
}

static bool bucket_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 222)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
              s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

static bool digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* The object in the data must be the one the attributes name: a notification whose payload
 * disagrees with its own attributes is not something Cloud Storage sends. */
static ce_status storage_data(const envelope *env, const char *bucket, const char *name,
                              const char *generation, arena *a, char *err, size_t errlen)
{
    if (!env->data)
        return errtext_fail(
            err, errlen, CE_ERR_MISSING,
            "message.data: missing (a JSON_API_V1 notification carries the object)");
    storage_object obj;
    char why[200];
    storage_object_status st =
        storage_object_parse(env->data, env->data_len, a, &obj, why, sizeof why);
    if (st == STORAGE_OBJECT_ERR_NOMEM)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    if (st != STORAGE_OBJECT_OK) {
        /* storage_object renders what it quotes of the data printably already. */
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.data: not a StorageObjectData (%s): %s",
                            storage_object_status_name(st), why);
    }
    if (strcmp(obj.bucket, bucket) != 0)
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.data: bucket differs from message.attributes.bucketId");
    if (strcmp(obj.name, name) != 0)
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.data: name differs from message.attributes.objectId");
    if (generation && obj.generation && strcmp(obj.generation, generation) != 0)
        return errtext_fail(
            err, errlen, CE_ERR_INVALID,
            "message.data: generation differs from message.attributes.objectGeneration");
    return CE_OK;
}

static ce_status map_storage(const envelope *env, arena *a, mapping *m, char *err, size_t errlen)
{
    static const char *const required[] = {"eventType", "bucketId", "objectId", "payloadFormat"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!attribute(env, required[i]))
            return errtext_fail(
                err, errlen, CE_ERR_MISSING,
                "message.attributes.%s: missing (a Cloud Storage notification carries it)",
                required[i]);
    char buf[PRT_ECHO_SIZE];
    const char *event_type = attribute(env, "eventType"), *bucket = attribute(env, "bucketId"),
               *name = attribute(env, "objectId"), *format = attribute(env, "payloadFormat"),
               *config = attribute(env, "notificationConfig"),
               *generation = attribute(env, "objectGeneration"),
               *event_time = attribute(env, "eventTime"), *type = NULL;
    for (size_t i = 0; i < sizeof storage_types / sizeof storage_types[0]; i++)
        if (strcmp(event_type, storage_types[i].event_type) == 0)
            type = storage_types[i].ce_type;
    if (!type)
        return errtext_fail(
            err, errlen, CE_ERR_INVALID,
            "message.attributes.eventType: unknown event type \"%s\" (want "
            "OBJECT_FINALIZE, OBJECT_METADATA_UPDATE, OBJECT_DELETE or OBJECT_ARCHIVE)",
            prt_str(buf, sizeof buf, event_type));
    if (strcmp(format, "JSON_API_V1") != 0)
        return errtext_fail(
            err, errlen, CE_ERR_INVALID,
            "message.attributes.payloadFormat: \"%s\" does not carry the object; create "
            "the notification with --payload-format=json (JSON_API_V1)",
            prt_str(buf, sizeof buf, format));
    if (!bucket_name_valid(bucket))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.attributes.bucketId: not a bucket name");
    if (!*name)
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.attributes.objectId: must not be empty");
    char *config_prefix = arena_printf(a, "projects/_/buckets/%s/notificationConfigs/", bucket);
    if (!config_prefix)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    size_t plen = strlen(config_prefix);
    if (strncmp(config, config_prefix, plen) != 0 || !config[plen] || strchr(config + plen, '/'))
        return errtext_fail(
            err, errlen, CE_ERR_INVALID,
            "message.attributes.notificationConfig: must be "
            "\"projects/_/buckets/BUCKET/notificationConfigs/ID\" for bucketId's bucket");
    if (generation && !digits(generation))
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "message.attributes.objectGeneration: must be a string of digits");
    ce_status s = storage_data(env, bucket, name, generation, a, err, errlen);
    if (s != CE_OK)
        return s;
    char *source = arena_printf(a, "%s%s", storage_prefix, bucket);
    char *subject = arena_printf(a, "objects/%s", name);
    if (!source || !subject)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    map(m, "type", type, "message.attributes.eventType");
    map(m, "source", source, "message.attributes.bucketId");
    map(m, "subject", subject, "message.attributes.objectId");
    map(m, "bucket", bucket, "message.attributes.bucketId");
    if (event_time)
        map(m, "time", event_time, "message.attributes.eventTime");
    else if (env->publish_time)
        map(m, "time", env->publish_time, "message.publishTime");
    return CE_OK;
}

/* Eventarc's MessagePublishedData: the message as received and the subscription, compact. */
static ce_status map_published(const envelope *env, arena *a, mapping *m,
                               const unsigned char **data, size_t *data_len, char *err,
                               size_t errlen)
{
    char *source = arena_printf(a, "%s%s", pubsub_prefix, env->subscription);
    json_t *body =
        json_pack("{s:O, s:s}", "message", env->message, "subscription", env->subscription);
    size_t n = body ? json_dumpb(body, NULL, 0, JSON_COMPACT) : 0;
    char *buf = n ? arena_alloc(a, n) : NULL;
    bool ok = source && buf && json_dumpb(body, buf, n, JSON_COMPACT) == n;
    json_decref(body);
    if (!ok)
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    map(m, "type", published_type, "message");
    map(m, "source", source, "subscription");
    if (env->publish_time)
        map(m, "time", env->publish_time, "message.publishTime");
    *data = (const unsigned char *)buf;
    *data_len = n;
    return CE_OK;
}

/* The CloudEvents attributes every event has, set on OBJ. */
static int set_base(json_t *obj, const char *id)
{
    return json_object_set_new(obj, "specversion", json_string("1.0")) |
           json_object_set_new(obj, "id", json_string(id)) |
           json_object_set_new(obj, "source", json_string("//pubsub")) |
           json_object_set_new(obj, "type", json_string(published_type)) |
           json_object_set_new(obj, "datacontenttype", json_string("application/json"));
}

/* Checks each mapped value alone by cloudevent's rules, naming its envelope field on failure,
 * then builds the event from all of them. */
static ce_status build_event(const envelope *env, const mapping *m, arena *a, cloudevent *out,
                             char *err, size_t errlen)
{
    char inner[256];
    json_t *obj = json_object();
    if (!obj || set_base(obj, env->id) != 0) {
        json_decref(obj);
        return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
    }
    ce_status s = ce_from_json(obj, a, out, inner, sizeof inner);
    if (s != CE_OK) {
        json_decref(obj);
        return s == CE_ERR_NOMEM ? errtext_fail(err, errlen, s, "out of memory")
                                 : errtext_fail(err, errlen, s, "message.messageId: %s", inner);
    }
    for (size_t i = 0; i < m->n && s == CE_OK; i++) {
        json_t *one = json_object();
        if (!one || set_base(one, env->id) != 0 ||
            json_object_set_new(one, m->name[i], json_string(m->value[i])) != 0 ||
            json_object_set_new(obj, m->name[i], json_string(m->value[i])) != 0) {
            json_decref(one);
            json_decref(obj);
            return errtext_fail(err, errlen, CE_ERR_NOMEM, "out of memory");
        }
        s = ce_from_json(one, a, out, inner, sizeof inner);
        json_decref(one);
        if (s != CE_OK && s != CE_ERR_NOMEM)
            errtext_set(err, errlen, "%s: %s", m->field[i], inner);
        else if (s == CE_ERR_NOMEM)
            errtext_set(err, errlen, "out of memory");
    }
    if (s == CE_OK && (s = ce_from_json(obj, a, out, inner, sizeof inner)) != CE_OK)
        errtext_set(err, errlen, "the envelope does not make a valid event: %s", inner);
    json_decref(obj);
    return s;
}

static ce_status from_envelope(const json_t *root, arena *a, cloudevent *out, char *err,
                               size_t errlen)
{
    envelope env = {0};
    mapping m = {0};
    const unsigned char *data = NULL;
    size_t data_len = 0;
    ce_status s = read_envelope(root, a, &env, err, errlen);
    if (s != CE_OK)
        return s;
    if (attribute(&env, "notificationConfig")) {
        s = map_storage(&env, a, &m, err, errlen);
        data = env.data;
        data_len = env.data_len;
    } else {
        s = map_published(&env, a, &m, &data, &data_len, err, errlen);
    }
    if (s == CE_OK)
        s = build_event(&env, &m, a, out, err, errlen);
    if (s == CE_OK) {
        out->data = data;
        out->data_len = data_len;
    }
    return s;
}

ce_status psp_parse_http(const http_request *req, arena *a, cloudevent *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (req->body_len > PSP_BODY_MAX)
        return errtext_fail(err, errlen, CE_ERR_INVALID, "the envelope is larger than %d bytes",
                            PSP_BODY_MAX);
    json_error_t jerr;
    json_t *root =
        json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char buf[PRT_ECHO_SIZE];
        return errtext_fail(err, errlen, CE_ERR_INVALID,
                            "the envelope is not valid JSON (line %d, column %d: %s)", jerr.line,
                            jerr.column, prt_str(buf, sizeof buf, jerr.text));
    }
    ce_status s = from_envelope(root, a, out, err, errlen);
    json_decref(root);
    if (s != CE_OK)
        memset(out, 0, sizeof *out);
    return s;
}

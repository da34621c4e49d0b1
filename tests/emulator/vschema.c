/* vschema — see vschema.h. The tables below are the v1 fields our clients use (CustomJob,
 * TrainingPipeline, Model, UploadModelRequest); anything else is an unknown name, as it would be
 * to Google for a field that does not exist. */
#include "vschema.h"

#include "labels.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const vs_field port[] = {VS_F("containerPort", VS_INT32), VS_END};
static const vs_field model_container_spec[] = {
    VS_FR("imageUri", VS_STRING),         VS_F("command", VS_STRING_LIST),
    VS_F("args", VS_STRING_LIST),         VS_M("env", VS_MESSAGE_LIST, vs_env_var),
    VS_M("ports", VS_MESSAGE_LIST, port), VS_F("predictRoute", VS_STRING),
    VS_F("healthRoute", VS_STRING),       VS_END};

const vs_field vs_model[] = {VS_F("displayName", VS_STRING),
                             VS_F("description", VS_STRING),
                             VS_F("versionAliases", VS_STRING_LIST),
                             VS_F("versionDescription", VS_STRING),
                             VS_F("artifactUri", VS_STRING),
                             VS_M("containerSpec", VS_MESSAGE, model_container_spec),
                             VS_F("labels", VS_LABELS),
                             VS_F("metadata", VS_ANY),
                             VS_F("metadataSchemaUri", VS_STRING),
                             VS_M("encryptionSpec", VS_MESSAGE, vs_encryption_spec),
                             VS_F("name", VS_ANY),
                             VS_F("versionId", VS_ANY),
                             VS_F("versionCreateTime", VS_ANY),
                             VS_F("versionUpdateTime", VS_ANY),
                             VS_F("createTime", VS_ANY),
                             VS_F("updateTime", VS_ANY),
                             VS_F("etag", VS_ANY),
                             VS_END};

const vs_field vs_training_pipeline[] = {VS_FR("displayName", VS_STRING),
                                         VS_FR("trainingTaskDefinition", VS_STRING),
                                         VS_FR("trainingTaskInputs", VS_ANY),
                                         VS_F("inputDataConfig", VS_ANY),
                                         VS_M("modelToUpload", VS_MESSAGE, vs_model),
                                         VS_F("parentModel", VS_STRING),
                                         VS_F("modelId", VS_STRING),
                                         VS_F("labels", VS_LABELS),
                                         VS_M("encryptionSpec", VS_MESSAGE, vs_encryption_spec),
                                         VS_RUN_OUTPUT_ONLY,
                                         VS_FO("trainingTaskMetadata"),
                                         VS_END};

const vs_field vs_upload_model_request[] = {
    VS_F("parent", VS_STRING),         VS_MR("model", VS_MESSAGE, vs_model),
    VS_F("parentModel", VS_STRING),    VS_F("modelId", VS_STRING),
    VS_F("serviceAccount", VS_STRING), VS_END};

const vs_field vs_merge_aliases_request[] = {VS_FR("versionAliases", VS_STRING_LIST), VS_END};

/* google.cloud.aiplatform.v1.ModelEvaluation (name and createTime are output only). */
const vs_field vs_model_evaluation[] = {VS_F("displayName", VS_STRING),
                                        VS_F("metricsSchemaUri", VS_STRING),
                                        VS_F("metrics", VS_ANY),
                                        VS_F("sliceDimensions", VS_STRING_LIST),
                                        VS_F("dataItemSchemaUri", VS_STRING),
                                        VS_F("annotationSchemaUri", VS_STRING),
                                        VS_F("modelExplanation", VS_ANY),
                                        VS_F("explanationSpecs", VS_ANY),
                                        VS_F("metadata", VS_ANY),
                                        VS_FO("name"),
                                        VS_FO("createTime"),
                                        VS_END};

const vs_field vs_import_model_evaluation_request[] = {
    VS_MR("modelEvaluation", VS_MESSAGE, vs_model_evaluation), VS_END};

const char *vs_status_name(vs_status s)
{
    switch (s) {
    case VS_OK:
        return "ok";
    case VS_UNKNOWN_FIELD:
        return "unknown field";
    case VS_BAD_VALUE:
        return "bad value";
    case VS_MISSING:
        return "missing required field";
    case VS_BAD_LABELS:
        return "bad labels";
    }
    return "?";
}

typedef struct {
    char *msg, *field;
    size_t msglen, fieldlen;
} vs_out;

/* "jobSpec" -> "job_spec": the proto name Google's messages use. */
static void snake(const char *camel, char *out, size_t n)
{
    size_t o = 0;
    for (const char *c = camel; *c && o + 2 < n; c++) {
        if (isupper((unsigned char)*c)) {
            out[o++] = '_';
            out[o++] = (char)tolower((unsigned char)*c);
        } else {
            out[o++] = *c;
        }
    }
    out[o] = '\0';
}

static const vs_field *find_field(const vs_field *schema, const char *key)
{
    char sn[96];
    for (const vs_field *f = schema; f->name; f++) {
        snake(f->name, sn, sizeof sn);
        if (strcmp(f->name, key) == 0 || strcmp(sn, key) == 0)
            return f;
    }
    return NULL;
}

static const json_t *member(const json_t *obj, const char *camel)
{
    char sn[96];
    const json_t *v = json_object_get(obj, camel);
    if (!v) {
        snake(camel, sn, sizeof sn);
        v = json_object_get(obj, sn);
    }
    return v;
}

/* A path below another; paths are short, and a cut one still names the place. */
static void sub_path(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sub_path(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

static vs_status bad_value(vs_out *o, const char *path, const char *type, const json_t *v)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(o->msg, o->msglen, "Invalid value at '%s' (%s), %.200s", path, type,
             text ? text : "?");
    snprintf(o->field, o->fieldlen, "%s", path);
    free(text);
    return VS_BAD_VALUE;
}

static bool int_string(const char *s)
{
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static vs_status check_message(const json_t *obj, const vs_field *schema, const char *path,
                               vs_out *o);

static vs_status check_value(const json_t *v, const vs_field *f, const char *path, vs_out *o)
{
    char sub[512];
    size_t i;
    const json_t *item;
    switch (f->type) {
    case VS_ANY:
        return VS_OK;
    case VS_STRING:
        return json_is_string(v) ? VS_OK : bad_value(o, path, "TYPE_STRING", v);
    case VS_BOOL:
        return json_is_boolean(v) ? VS_OK : bad_value(o, path, "TYPE_BOOL", v);
    case VS_INT64:
    case VS_INT32:
        if (json_is_integer(v) || (json_is_string(v) && int_string(json_string_value(v))))
            return VS_OK;
        return bad_value(o, path, f->type == VS_INT64 ? "TYPE_INT64" : "TYPE_INT32", v);
    case VS_DURATION:
        return json_is_string(v) && vs_duration_valid(json_string_value(v))
                   ? VS_OK
                   : bad_value(o, path, "type.googleapis.com/google.protobuf.Duration", v);
    case VS_MESSAGE:
        return check_message(v, f->fields, path, o);
    case VS_STRING_LIST:
        if (!json_is_array(v))
            return bad_value(o, path, "TYPE_STRING", v);
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item)) {
                sub_path(sub, sizeof sub, "%s[%zu]", path, i);
                return bad_value(o, sub, "TYPE_STRING", item);
            }
        }
        return VS_OK;
    case VS_MESSAGE_LIST:
        if (!json_is_array(v))
            return bad_value(o, path, "TYPE_MESSAGE", v);
        json_array_foreach(v, i, item)
        {
            sub_path(sub, sizeof sub, "%s[%zu]", path, i);
            vs_status s = check_message(item, f->fields, sub, o);
            if (s != VS_OK)
                return s;
        }
        return VS_OK;
    case VS_LABELS: {
        if (!json_is_object(v))
            return bad_value(o, path, "TYPE_MESSAGE", v);
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            if (!json_is_string(val)) {
                sub_path(sub, sizeof sub, "%s[%.63s]", path, key);
                return bad_value(o, sub, "TYPE_STRING", val);
            }
        }
        char err[256];
        if (labels_validate(v, err, sizeof err) != 0) {
            snprintf(o->msg, o->msglen, "Invalid labels at '%s': %s", path, err);
            snprintf(o->field, o->fieldlen, "%s", path);
            return VS_BAD_LABELS;
        }
        return VS_OK;
    }
    }
    return VS_OK;
}

static vs_status check_message(const json_t *obj, const vs_field *schema, const char *path,
                               vs_out *o)
{
    if (!json_is_object(obj))
        return bad_value(o, path, "TYPE_MESSAGE", obj);
    const char *key;
    json_t *v;
    char sub[512], sn[96];
    json_object_foreach((json_t *)obj, key, v)
    {
        const vs_field *f = find_field(schema, key);
        if (!f) {
            snprintf(o->msg, o->msglen,
                     "Invalid JSON payload received. Unknown name \"%.100s\" at '%s': Cannot find "
                     "field.",
                     key, path);
            snprintf(o->field, o->fieldlen, "%s", path);
            return VS_UNKNOWN_FIELD;
        }
        snake(f->name, sn, sizeof sn);
        sub_path(sub, sizeof sub, "%s.%s", path, sn);
        vs_status s = check_value(v, f, sub, o);
        if (s != VS_OK)
            return s;
    }
    for (const vs_field *f = schema; f->name; f++) {
        if (!(f->flags & VS_REQUIRED))
            continue;
        const json_t *m = member(obj, f->name);
        bool empty = !m || json_is_null(m) || (json_is_string(m) && !json_string_length(m)) ||
                     (json_is_array(m) && !json_array_size(m));
        if (empty) {
            snake(f->name, sn, sizeof sn);
            sub_path(sub, sizeof sub, "%s.%s", path, sn);
            snprintf(o->msg, o->msglen,
                     "List of found errors:\t1.Field: %s; Message: Required field is not set.\t",
                     sub);
            snprintf(o->field, o->fieldlen, "%s", sub);
            return VS_MISSING;
        }
    }
    return VS_OK;
}

vs_status vs_check(const json_t *object, const vs_field *schema, const char *root, char *msg,
                   size_t msglen, char *field, size_t fieldlen)
{
    vs_out o = {msg, field, msglen, fieldlen};
    msg[0] = field[0] = '\0';
    return check_message(object, schema, root, &o);
}

void vs_drop_output_only(json_t *object, const vs_field *schema)
{
    for (const vs_field *f = schema; f->name; f++)
        if (f->flags & VS_OUTPUT_ONLY)
            json_object_del(object, f->name);
}

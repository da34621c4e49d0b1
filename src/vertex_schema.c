/* vertex_schema — see vertex_schema.h. */
#include "vertex_schema.h"

#include <ctype.h>
#include <stddef.h>

const vs_field vs_env_var[] = {VS_FR("name", VS_STRING), VS_F("value", VS_STRING), VS_END};
const vs_field vs_encryption_spec[] = {VS_FR("kmsKeyName", VS_STRING), VS_END};

static const vs_field container_spec[] = {
    VS_FR("imageUri", VS_STRING), VS_F("command", VS_STRING_LIST), VS_F("args", VS_STRING_LIST),
    VS_M("env", VS_MESSAGE_LIST, vs_env_var), VS_END};
static const vs_field python_package_spec[] = {
    VS_FR("executorImageUri", VS_STRING),     VS_FR("packageUris", VS_STRING_LIST),
    VS_FR("pythonModule", VS_STRING),         VS_F("args", VS_STRING_LIST),
    VS_M("env", VS_MESSAGE_LIST, vs_env_var), VS_END};
static const vs_field reservation_affinity[] = {VS_FR("reservationAffinityType", VS_STRING),
                                                VS_F("key", VS_STRING),
                                                VS_F("values", VS_STRING_LIST), VS_END};
static const vs_field machine_spec[] = {
    VS_FR("machineType", VS_STRING),
    VS_F("acceleratorType", VS_STRING),
    VS_F("acceleratorCount", VS_INT32),
    VS_F("tpuTopology", VS_STRING),
    VS_M("reservationAffinity", VS_MESSAGE, reservation_affinity),
    VS_END};
static const vs_field disk_spec[] = {VS_F("bootDiskType", VS_STRING),
                                     VS_F("bootDiskSizeGb", VS_INT32), VS_END};
static const vs_field nfs_mount[] = {VS_FR("server", VS_STRING), VS_FR("path", VS_STRING),
                                     VS_FR("mountPoint", VS_STRING), VS_END};
static const vs_field worker_pool_spec[] = {
    VS_M("containerSpec", VS_MESSAGE, container_spec),
    VS_M("pythonPackageSpec", VS_MESSAGE, python_package_spec),
    VS_MR("machineSpec", VS_MESSAGE, machine_spec),
    VS_F("replicaCount", VS_INT64),
    VS_M("nfsMounts", VS_MESSAGE_LIST, nfs_mount),
    VS_M("diskSpec", VS_MESSAGE, disk_spec),
    VS_END};
static const vs_field scheduling[] = {
    VS_F("timeout", VS_DURATION),         VS_F("restartJobOnWorkerRestart", VS_BOOL),
    VS_F("strategy", VS_STRING),          VS_F("disableRetries", VS_BOOL),
    VS_F("maxWaitDuration", VS_DURATION), VS_END};
static const vs_field gcs_destination[] = {VS_FR("outputUriPrefix", VS_STRING), VS_END};
static const vs_field custom_job_spec[] = {
    VS_MR("workerPoolSpecs", VS_MESSAGE_LIST, worker_pool_spec),
    VS_F("persistentResourceId", VS_STRING),
    VS_M("scheduling", VS_MESSAGE, scheduling),
    VS_F("serviceAccount", VS_STRING),
    VS_F("network", VS_STRING),
    VS_F("reservedIpRanges", VS_STRING_LIST),
    VS_M("baseOutputDirectory", VS_MESSAGE, gcs_destination),
    VS_F("protectedArtifactLocationId", VS_STRING),
    VS_F("tensorboard", VS_STRING),
    VS_F("enableWebAccess", VS_BOOL),
    VS_F("enableDashboardAccess", VS_BOOL),
    VS_F("experiment", VS_STRING),
    VS_F("experimentRun", VS_STRING),
    VS_F("models", VS_STRING_LIST),
    VS_END};

const vs_field vs_custom_job[] = {VS_FR("displayName", VS_STRING),
                                  VS_MR("jobSpec", VS_MESSAGE, custom_job_spec),
                                  VS_F("labels", VS_LABELS),
                                  VS_M("encryptionSpec", VS_MESSAGE, vs_encryption_spec),
                                  VS_RUN_OUTPUT_ONLY,
                                  VS_FO("webAccessUris"),
                                  VS_FO("satisfiesPzs"),
                                  VS_FO("satisfiesPzi"),
                                  VS_END};

bool vs_duration_valid(const char *text)
{
    const char *p = text;
    while (isdigit((unsigned char)*p))
        p++;
    if (p == text)
        return false;
    if (*p == '.') {
        const char *q = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        if (p == q || p - q > 9)
            return false;
    }
    return p[0] == 's' && p[1] == '\0';
}

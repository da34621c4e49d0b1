/* libFuzzer target for the config file and its rules: the input is a config file's text.
 * It goes through config_load() (via an in-memory file, /proc/self/fd of a memfd, so nothing
 * touches the disk), config_validate() and rules_compile(); compiled rules are then matched
 * against a fixed event and their templates expanded. Any outcome but a crash, a leak or an
 * inconsistent answer (failure without a message, success with one) is fine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"
#include "builtins.h"
#include "config.h"
#include "retrain_config.h"
#include "rules.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The environment overrides the file: keep it out of the way. */
    static const char *const env[] = {"RETRAIN_AUDIENCE",        "RETRAIN_SERVICE_ACCOUNTS",
                                      "RETRAIN_JWKS_URL",        "RETRAIN_LEDGER",
                                      "RETRAIN_VERTEX_ENDPOINT", "RETRAIN_LISTEN",
                                      "RETRAIN_FUNCTION",        "RETRAIN_LOG_LEVEL",
                                      "RETRAIN_WORKERS",         "GOOGLE_CLOUD_PROJECT"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        unsetenv(env[i]);
    builtins_register(); /* as the binaries do: the retrain function claims vertex and rules */
    return 0;
}

static void exercise(const rules *rs)
{
    arena *a = arena_new(0);
    if (!a)
        return;
    ce_attr ext[] = {{"bucket", "acme-data"}};
    cloudevent ev = {.id = "1",
                     .source = "//storage.googleapis.com/projects/_/buckets/acme-data",
                     .specversion = "1.0",
                     .type = "google.cloud.storage.object.v1.finalized",
                     .subject = "objects/datasets/churn/a.csv",
                     .extensions = ext,
                     .n_extensions = 1};
    storage_object obj = {.bucket = "acme-data", .name = "datasets/churn/a.csv"};
    const rule *hit = rules_match(rs, &ev, &obj);
    if (hit && rules_match(rs, &ev, NULL) == NULL && rules_find(rs, rules_name(hit)) != hit)
        abort();
    for (size_t i = 0; i < rules_count(rs); i++) {
        const rule *r = rules_at(rs, i);
        template_vars v;
        if (rules_vars_for_event(r, &ev, &obj, "k", a, &v) != 0)
            break;
        if (rules_job(r))
            json_decref(template_expand(rules_job(r), &v));
        if (rules_pipeline(r))
            json_decref(template_expand(rules_pipeline(r), &v));
        if (rules_model_of(r) && !rules_artifact_uri(r, &v, a))
            abort();
    }
    arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_config", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    config cfg;
    char err[CONFIG_ERR_MAX];
    if (config_load(path, &cfg, err) == 0) {
        if (err[0])
            abort();
        config_validate(&cfg, err);
        static char rerr[16384];
        rules *rs = NULL;
        retrain_config rc;
        problems p = {.buf = rerr, .cap = sizeof rerr};
        if (retrain_config_read(cfg.sections, &rc, &p) != 0) {
            if (!rerr[0] || p.count == 0)
                abort();
        } else if (rules_compile(rc.rules, &rs, rerr, sizeof rerr) == 0) {
            if (!rs || rerr[0])
                abort();
            exercise(rs);
            rules_free(rs);
        } else if (rs || !rerr[0]) {
            abort();
        }
        if (p.count == 0)
            retrain_config_free(&rc);
        config_free(&cfg);
    } else if (!err[0]) {
        abort();
    }
    close(fd);
    return 0;
}

/* capture — see capture.h. */
#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* F's contents from the start into BUF (LEN bytes at most, NUL-terminated); closes F. */
static void read_back(FILE *f, char *buf, size_t len)
{
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

int capture_main(int (*main_fn)(int, char **), int argc, char **argv, char *out, size_t outlen,
                 char *err, size_t errlen)
{
    FILE *o = tmpfile(), *e = tmpfile();
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    if (!o || !e || saved_out < 0 || saved_err < 0 || dup2(fileno(o), 1) < 0 ||
        dup2(fileno(e), 2) < 0) {
        if (o)
            fclose(o);
        if (e)
            fclose(e);
        return -1;
    }
    int rc = main_fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    read_back(o, out, outlen);
    read_back(e, err, errlen);
    return rc;
}

void capture_clear_config_env(void)
{
    static const char *const env[] = {
        "RETRAIN_CONFIG",   "RETRAIN_AUDIENCE",    "RETRAIN_SERVICE_ACCOUNTS",
        "RETRAIN_JWKS_URL", "RETRAIN_LEDGER",      "RETRAIN_VERTEX_ENDPOINT",
        "RETRAIN_LISTEN",   "RETRAIN_FUNCTION",    "RETRAIN_LOG_LEVEL",
        "RETRAIN_WORKERS",  "GOOGLE_CLOUD_PROJECT"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        unsetenv(env[i]);
}

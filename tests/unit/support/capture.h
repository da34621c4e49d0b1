/* capture — test-only: a command's main (argc, argv) run in-process with its stdout and stderr
 * going to temporary files, which are read back; and the environment a config file's reader
 * looks at cleared, so a test sees what its file says.
 *
 * OUT and ERR receive at most OUTLEN-1 and ERRLEN-1 bytes, NUL-terminated. */
#ifndef TEST_CAPTURE_H
#define TEST_CAPTURE_H

#include <stddef.h>

/* MAIN's exit status, or -1 when the streams could not be redirected. */
int capture_main(int (*main_fn)(int, char **), int argc, char **argv, char *out, size_t outlen,
                 char *err, size_t errlen);

/* Unsets every environment variable that overrides a config file (RETRAIN_CONFIG,
 * RETRAIN_AUDIENCE, ..., GOOGLE_CLOUD_PROJECT). */
void capture_clear_config_env(void);

#endif

/* options — retrain-fcgi's command line.
 *
 * Options override the config file and the environment (see config.h for the order). Parsing
 * and applying are separate so a SIGHUP reload re-reads the file and re-applies the same
 * command line on top of it. Strings point into argv. */
#ifndef POOL_OPTIONS_H
#define POOL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

typedef struct {
    const char *config_path; /* --config, else RETRAIN_CONFIG, else NULL */
    const char *listen, *socket_group, *function, *log_level, *pid_file;
    int socket_mode, backlog, workers, max_requests, request_timeout_s, shutdown_timeout_s;
    bool check_only; /* --check: validate the configuration and exit */
} pool_options;

typedef enum {
    POOL_OPT_RUN,   /* go on */
    POOL_OPT_EXIT,  /* --help or --version was printed: exit 0 */
    POOL_OPT_USAGE, /* bad command line: ERR says why, exit 2 */
} pool_opt_result;

pool_opt_result pool_options_parse(int argc, char **argv, pool_options *o, char *err,
                                   size_t errlen);

/* Loads the config file named by O (or the defaults), the environment, then O's overrides, and
 * checks the result as `retrainctl check-config` does (config_check: rules and function
 * included). 0, or -1 with every problem in ERR (CONFIG_ERR_MAX bytes). At start, on --check
 * and on every SIGHUP. */
int pool_config_load(const pool_options *o, config *cfg, char *err);

void pool_usage(FILE *out);

#endif

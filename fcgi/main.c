/* retrain-fcgi — the pool's entry point: options, config, socket, scoreboard, then the master.
 * See `retrain-fcgi --help`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtins.h"
#include "config.h"
#include "ledger.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "options.h"
#include "scoreboard.h"

static void print_config(const config *cfg)
{
    printf("listen=%s workers=%d backlog=%d max_requests=%d request_timeout_s=%d "
           "shutdown_timeout_s=%d function=%s ledger=%s auth=%s\n",
           cfg->listen, config_worker_count(cfg), cfg->backlog, cfg->max_requests,
           cfg->request_timeout_s, cfg->shutdown_timeout_s, cfg->function,
           strncmp(cfg->ledger.url, "sqlite:", 7) == 0 ? cfg->ledger.url : "postgres (hidden)",
           cfg->auth.disabled ? "DISABLED" : "oidc");
}

/* A SQLite ledger begins here or nowhere: workers, the gc child and retrainctl open only one that
 * exists (ledger.h), so a ledger deleted under the running pool is reported, never silently
 * begun again empty. A file that cannot be opened or created now will not open in a worker
 * either: exit 1 with the reason rather than run a pool that answers 503 forever. (PostgreSQL's
 * schema is the workers' to migrate, and a server that is down may come up: they answer 503
 * until it does.) Returns an exit code, or -1 to go on. */
static int begin_ledger(const config *cfg)
{
    if (strncmp(cfg->ledger.url, "sqlite:", 7) != 0)
        return -1;
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    ledger_status st = ledger_create(cfg->ledger.url, &l, err);
    ledger_close(l);
    if (st == LEDGER_OK)
        return -1;
    fprintf(stderr, "retrain-fcgi: %s%s\n", st == LEDGER_ERR_INVALID ? "ledger.url: " : "", err);
    return st == LEDGER_ERR_INVALID ? 2 : 1;
}

int main(int argc, char **argv)
{
    builtins_register();
    pool_options opts;
    char err[CONFIG_ERR_MAX];
    switch (pool_options_parse(argc, argv, &opts, err, sizeof err)) {
    case POOL_OPT_EXIT:
        return 0;
    case POOL_OPT_USAGE:
        fprintf(stderr, "retrain-fcgi: %s\n", err);
        return 2;
    case POOL_OPT_RUN:
        break;
    }
    config cfg;
    if (pool_config_load(&opts, &cfg, err) != 0) {
        fprintf(stderr, "retrain-fcgi: configuration %s:\n%s\n",
                opts.config_path ? opts.config_path : "(defaults and environment)", err);
        return 2;
    }
    if (opts.check_only) {
        print_config(&cfg);
        config_free(&cfg);
        return 0;
    }
    log_severity level = LOG_INFO;
    log_severity_parse(cfg.log_level, &level);
    log_init("master", level);
    /* From here a stop signal waits for the master's signalfd, which unlinks the socket: a
     * SIGTERM during start-up must not leave it behind. */
    sigset_t stops;
    master_block_signals(&stops);
    int ledger_rc = begin_ledger(&cfg);
    if (ledger_rc >= 0) {
        config_free(&cfg);
        return ledger_rc;
    }
    int fd =
        listener_open(cfg.listen, cfg.socket_group, cfg.socket_mode, cfg.backlog, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "retrain-fcgi: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    scoreboard *sb = scoreboard_create(SB_MAX_WORKERS);
    if (!sb) {
        fprintf(stderr, "retrain-fcgi: cannot map the scoreboard\n");
        return 1;
    }
    scoreboard_count_in(sb); /* the workers and the follower inherit it */
    if (opts.pid_file) {
        FILE *f = fopen(opts.pid_file, "w");
        if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
            fprintf(stderr, "retrain-fcgi: cannot write --pid-file %s\n", opts.pid_file);
            return 1;
        }
    }
    int rc = master_run(&opts, &cfg, fd, sb);
    if (opts.pid_file)
        unlink(opts.pid_file);
    scoreboard_destroy(sb);
    return rc;
}

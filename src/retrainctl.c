/* retrainctl — the operator's command line: check a config, verify a token, read the ledger,
 * replay a dead letter, collect old records.
 *
 * Exit status: 0 success, 1 a negative answer (invalid token, record not found, a replay that
 * failed again), 2 usage or environment error — and 2 for a config that fails check-config, as
 * the pool itself exits 2 on a bad config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "cmd_check_config.h"
#include "cmd_events.h"
#include "cmd_models.h"
#include "cmd_runs.h"
#include "cmd_batches.h"
#include "cmd_verify_token.h"
#include "config.h"
#include "function.h"
#include "lease.h"
#include "ledger.h"
#include "log.h"

static void usage(FILE *out)
{
    fputs(
        "Usage: retrainctl COMMAND [ARGS]\n"
        "\n"
        "Commands:\n"
        "  check-config FILE            validate a config file (rules included); every problem\n"
        "                               is printed with its JSON path\n"
        "  verify-token [OPTIONS] TOKEN|-\n"
        "                               verify a Google ID token as the pool would and print its\n"
        "                               claims (see verify-token --help)\n"
        "  events list [--status S] [--since T] [--limit N]\n"
        "  events show KEY|ID           read the ledger's events\n"
        "  runs list [--rule R] [--state S] [--since T] [--limit N]\n"
        "  runs show ID                 the runs events started, and the events each covers\n"
        "  batches list [--rule R]      the batches not submitted yet, and what each waits for\n"
        "  replay KEY [--ledger URL]    run a failed or expired event through its function again\n"
        "  promote MODEL@VERSION --alias A [--reason TEXT]\n"
        "                               move a model's alias to a version by hand (audited)\n"
        "  rollback MODEL --alias A [--reason TEXT]\n"
        "                               move the alias back to the version that held it before\n"
        "  models history MODEL         each version: its run and events, metric, decision and\n"
        "                               the aliases it holds now\n"
        "  gc [--older-than DURATION]   delete finished records older than DURATION (7d)\n"
        "\n"
        "The config comes from $RETRAIN_CONFIG, the ledger from --ledger, $RETRAIN_LEDGER or the\n"
        "config. Exit status: 0 success, 1 negative answer, 2 usage or environment error (and\n"
        "a config that fails check-config).\n",
        out);
}

static void replay_usage(FILE *out)
{
    fputs("Usage: retrainctl replay KEY [--ledger URL]\n"
          "\n"
          "Runs a failed event (a dead letter) or an expired one (of a batch that timed out) "
          "through\n"
          "the configured function again, exactly as\n"
          "a new delivery would: the record is re-opened, the function runs, and the outcome is\n"
          "recorded. Prints the answer as JSON. Exit 0 when the event is now processed, 1 when\n"
          "it failed again or is neither failed nor expired, 2 on usage or environment errors.\n",
          out);
}

static int cmd_replay(int argc, char **argv)
{
    const char *key = NULL, *ledger_url = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            replay_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--ledger") == 0 && i + 1 < argc) {
            ledger_url = argv[++i];
        } else if (argv[i][0] != '-' && !key) {
            key = argv[i];
        } else {
            replay_usage(stderr);
            return 2;
        }
    }
    if (!key || strlen(key) != LEDGER_KEY_HEX) {
        fprintf(stderr, "retrainctl replay: KEY must be the event's 64-hex ledger key\n");
        return 2;
    }
    config cfg;
    char err[CONFIG_ERR_MAX];
    if (config_load(getenv("RETRAIN_CONFIG"), &cfg, err) != 0) {
        fprintf(stderr, "retrainctl replay: configuration:\n%s\n", err);
        return 2;
    }
    if (ledger_url)
        config_set_string(&cfg.ledger.url, ledger_url);
    int rc = 2;
    ledger *l = NULL;
    arena *a = arena_new(16384);
    ledger_record rec = {0};
    void *state = NULL;
    const fn_def *fn = fn_lookup(cfg.function);
    if (!fn) {
        fprintf(stderr, "retrainctl replay: no function named \"%s\"\n", cfg.function);
        goto out;
    }
    char lerr[LEDGER_ERR_MAX];
    if (ledger_open(cfg.ledger.url, &l, lerr) != LEDGER_OK) {
        fprintf(stderr, "retrainctl replay: ledger: %s\n", lerr);
        goto out;
    }
    ledger_status ls = ledger_get(l, key, &rec);
    if (ls != LEDGER_OK || !ledger_status_replayable(rec.status) || !rec.event_json) {
        fprintf(stderr, "retrainctl replay: %s\n",
                ls == LEDGER_ERR_NOT_FOUND ? "no such event"
                : ls != LEDGER_OK          ? ledger_last_error(l)
                : !rec.event_json          ? "the record holds no event to replay"
                                           : "only failed and expired events can be replayed");
        rc = ls == LEDGER_ERR_UNAVAILABLE ? 2 : 1;
        goto out;
    }
    json_t *stored = json_loads(rec.event_json, 0, NULL);
    cloudevent ev;
    char cerr[256];
    ce_status cs = stored ? ce_from_json(stored, a, &ev, cerr, sizeof cerr) : CE_ERR_INVALID;
    json_decref(stored);
    if (cs != CE_OK) {
        fprintf(stderr, "retrainctl replay: the stored event does not parse: %s\n",
                stored ? cerr : "not JSON");
        rc = 1;
        goto out;
    }
    if (fn->init && fn->init(&cfg, &state, err, sizeof err) != 0) {
        fprintf(stderr, "retrainctl replay: %s: %s\n", fn->name, err);
        goto out;
    }
    lease held;
    lease_verdict v = lease_reopen(&held, l, cfg.ledger.lease_s, key);
    if (v != LEASE_OURS) {
        fprintf(stderr, "retrainctl replay: %s\n",
                v == LEASE_BUSY ? "the event is no longer failed or expired (another replay or "
                                  "delivery "
                                  "holds it, or it was done meanwhile)"
                                : ledger_last_error(l));
        goto out;
    }
    lease_answer ans;
    lease_run(&held, fn, state, &cfg, &ev, a, &ans);
    lease_end(&held);
    if (ans.http_status < 200 || ans.http_status > 299) { /* 202: queued or batched */
        fprintf(stderr, "retrainctl replay: %s: %s (the event is released for a later try)\n",
                ans.code, ans.message);
        rc = 1;
        goto out;
    }
    char *text = json_dumps(ans.body, JSON_COMPACT);
    puts(text ? text : "{}");
    free(text);
    const char *status = json_string_value(json_object_get(ans.body, "status"));
    rc = status && strcmp(status, "failed") == 0 ? 1 : 0;
    json_decref(ans.body);
out:
    if (fn && fn->fini && state)
        fn->fini(state);
    ledger_record_clear(&rec);
    ledger_close(l);
    arena_free(a);
    config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    builtins_register();
    log_init("retrainctl", LOG_WARNING);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check_config(argc - 1, argv + 1);
    if (strcmp(cmd, "verify-token") == 0)
        return cmd_verify_token(argc - 1, argv + 1);
    if (strcmp(cmd, "events") == 0)
        return cmd_events(argc - 1, argv + 1);
    if (strcmp(cmd, "runs") == 0)
        return cmd_runs(argc - 1, argv + 1);
    if (strcmp(cmd, "batches") == 0)
        return cmd_batches(argc - 1, argv + 1);
    if (strcmp(cmd, "gc") == 0)
        return cmd_gc(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "promote") == 0)
        return cmd_promote(argc - 1, argv + 1);
    if (strcmp(cmd, "rollback") == 0)
        return cmd_rollback(argc - 1, argv + 1);
    if (strcmp(cmd, "models") == 0)
        return cmd_models(argc - 1, argv + 1);
    fprintf(stderr, "retrainctl: unknown command \"%.40s\" (see retrainctl --help)\n", cmd);
    return 2;
}

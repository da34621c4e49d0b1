/* cmd_runs — see cmd_runs.h. */
#include "cmd_runs.h"

#include "cmd_ledger.h"
#include "config.h"
#include "function.h"
#include "run_json.h"
#include "runs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_PAGE 256
#define LIST_MAX 1000000
#define SHOW_EVENTS_MAX 100000

static const char runs_usage[] =
    "usage: retrainctl runs list [--rule R] [--state S] [--since T] [--limit N] [--ledger URL]\n"
    "       retrainctl runs show ID [--ledger URL]\n"
    "       retrainctl runs cancel ID [--ledger URL]\n"
    "  S: queued, submitted, running, succeeded, failed or cancelled\n"
    "  T: RFC 3339 time (2026-11-26T07:00:00Z) or a duration ago (30s, 15m, 2h, 7d): runs\n"
    "     queued since then\n"
    "  N: how many runs at most (default 100)\n"
    "  show: the run and the events it covers, the one that began it first.\n"
    "  cancel: asks Google to cancel the run's job or pipeline (with the config's credentials)\n"
    "     and prints the run as recorded then; the follower records the end if it comes later.\n"
    "  The ledger is --ledger URL, else $RETRAIN_LEDGER, else the config ($RETRAIN_CONFIG).\n"
    "  Exit: 0 success, 1 not found (or it cannot be cancelled), 2 usage or environment error.\n";

static int runs_list_cmd(ledger *l, const char *rule, int state, int64_t since_ms, long limit)
{
    run_record *runs = calloc(LIST_PAGE, sizeof *runs);
    if (!runs)
        return cmd_fail_ledger(l, LEDGER_ERR_UNAVAILABLE);
    char after[RUN_ID_LEN + 1] = "";
    long printed = 0;
    ledger_status st = LEDGER_OK;
    while (printed < limit) {
        long want = limit - printed < LIST_PAGE ? limit - printed : LIST_PAGE;
        run_query q = {.rule = rule,
                       .state = state,
                       .since_ms = since_ms,
                       .limit = (int)want,
                       .after_id = after[0] ? after : NULL};
        size_t n = 0;
        if ((st = runs_list(l, &q, runs, LIST_PAGE, &n)) != LEDGER_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            cmd_print_json(run_json(&runs[i]), JSON_COMPACT);
            memcpy(after, runs[i].id, sizeof after);
            run_record_clear(&runs[i]);
        }
        printed += (long)n;
        if ((long)n < want)
            break;
    }
    free(runs);
    if (st != LEDGER_OK)
        return cmd_fail_ledger(l, st);
    ledger_close(l);
    return CMD_EXIT_OK;
}

/* The events run R covers, each with its source, id and status as the ledger has them. */
static json_t *covered_json(ledger *l, const run_record *r, ledger_status *st)
{
    size_t cap = r->events > 0 && r->events < SHOW_EVENTS_MAX ? (size_t)r->events : 1;
    char(*keys)[LEDGER_KEY_HEX + 1] = calloc(cap, sizeof *keys);
    json_t *arr = json_array();
    size_t n = 0;
    if (!keys || !arr || (*st = runs_events(l, r->id, keys, cap, &n)) != LEDGER_OK) {
        if (!keys || !arr)
            *st = LEDGER_ERR_UNAVAILABLE;
        free(keys);
        json_decref(arr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        ledger_record rec;
        json_t *e = json_pack("{s:s}", "key", keys[i]);
        if (e && ledger_get(l, keys[i], &rec) == LEDGER_OK) {
            json_object_set_new(e, "source", json_string_or_null(rec.source));
            json_object_set_new(e, "id", json_string_or_null(rec.id));
            json_object_set_new(e, "subject", json_string_or_null(rec.subject));
            json_object_set_new(e, "status", json_string(rec.status));
            ledger_record_clear(&rec);
        }
        json_array_append_new(arr, e);
    }
    free(keys);
    return arr;
}

static int runs_show_cmd(ledger *l, const char *id)
{
    run_record r;
    ledger_status st = runs_get(l, id, &r);
    if (st == LEDGER_ERR_NOT_FOUND || st == LEDGER_ERR_INVALID) {
        fprintf(stderr, "retrainctl: no run %s in the ledger\n", id);
        ledger_close(l);
        return CMD_EXIT_NOT_FOUND;
    }
    if (st != LEDGER_OK)
        return cmd_fail_ledger(l, st);
    json_t *o = run_json(&r);
    json_t *covered = covered_json(l, &r, &st);
    run_record_clear(&r);
    if (!covered) {
        json_decref(o);
        return cmd_fail_ledger(l, st);
    }
    json_object_set_new(o, "covers", covered);
    cmd_print_json(o, JSON_INDENT(2));
    ledger_close(l);
    return CMD_EXIT_OK;
}

/* Cancels run ID through the configured function ($RETRAIN_CONFIG), then shows it. */
static int runs_cancel_cmd(ledger *l, const char *id)
{
    config cfg;
    char err[CONFIG_ERR_MAX];
    if (config_load(getenv("RETRAIN_CONFIG"), &cfg, err) != 0) {
        fprintf(stderr, "retrainctl runs cancel: configuration:\n%s\n", err);
        ledger_close(l);
        return CMD_EXIT_USAGE;
    }
    const fn_def *fn = fn_lookup(cfg.function);
    void *state = NULL;
    int rc = CMD_EXIT_USAGE;
    if (!fn || !fn->cancel)
        fprintf(stderr, "retrainctl runs cancel: the function \"%s\" cannot cancel runs\n",
                cfg.function);
    else if (fn->init && fn->init(&cfg, &state, err, sizeof err) != 0)
        fprintf(stderr, "retrainctl runs cancel: %s: %s\n", fn->name, err);
    else if ((rc = fn->cancel(state, l, id, err, sizeof err)) != 0)
        fprintf(stderr, "retrainctl runs cancel: %s\n", err);
    if (fn && fn->fini && state)
        fn->fini(state);
    config_free(&cfg);
    if (rc != 0) {
        ledger_close(l);
        return rc == 1 ? CMD_EXIT_NOT_FOUND : CMD_EXIT_USAGE;
    }
    return runs_show_cmd(l, id);
}

int cmd_runs(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(runs_usage, stdout);
        return CMD_EXIT_OK;
    }
    if (argc < 2)
        return cmd_usage_error(runs_usage, "%s: list, show or cancel?", "runs");
    const char *action = argv[1];
    bool list = strcmp(action, "list") == 0, cancel = strcmp(action, "cancel") == 0;
    if (!list && !cancel && strcmp(action, "show") != 0)
        return cmd_usage_error(runs_usage, "runs: unknown action %s", action);

    static const struct option opts[] = {{"rule", required_argument, NULL, 'r'},
                                         {"state", required_argument, NULL, 's'},
                                         {"since", required_argument, NULL, 't'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {"ledger", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rule = NULL, *url = NULL;
    int state = -1;
    int64_t since_ms = 0;
    long limit = 100;
    int c;
    optind = 0; /* GNU: restart scanning; the command may run more than once per process */
    opterr = 0;
    char **sub = argv + 1; /* parsed from the action on, so options may follow the ID */
    while ((c = getopt_long(argc - 1, sub, "", opts, NULL)) != -1) {
        const char *arg = optarg;
        switch (c) {
        case 'h':
            fputs(runs_usage, stdout);
            return CMD_EXIT_OK;
        case 'r':
            if (!list || !*arg)
                return cmd_usage_error(runs_usage, "runs: bad --rule %s", arg);
            rule = arg;
            break;
        case 's':
            if (!list || (state = run_state_parse(arg)) < 0)
                return cmd_usage_error(runs_usage, "runs: bad --state %s", arg);
            break;
        case 't': {
            int64_t ago = cmd_parse_duration(arg);
            since_ms = ago >= 0 ? ((int64_t)time(NULL) - ago) * 1000 : time_parse_rfc3339(arg);
            if (!list || since_ms < 0)
                return cmd_usage_error(runs_usage, "runs: bad --since %s", arg);
            break;
        }
        case 'n': {
            char *end;
            limit = strtol(arg, &end, 10);
            if (!list || *end || end == arg || limit < 1 || limit > LIST_MAX)
                return cmd_usage_error(runs_usage, "runs: bad --limit %s", arg);
            break;
        }
        case 'l':
            url = arg;
            break;
        default:
            return cmd_usage_error(runs_usage, "runs: bad option %s", sub[optind - 1]);
        }
    }
    int rest = argc - 1 - optind;
    char **args = sub + optind;
    if (list ? rest != 0 : rest != 1)
        return cmd_usage_error(runs_usage, "runs %s: wrong arguments", action);
    ledger *l = cmd_open_ledger(url);
    if (!l)
        return CMD_EXIT_USAGE;
    if (list)
        return runs_list_cmd(l, rule, state, since_ms, limit);
    return cancel ? runs_cancel_cmd(l, args[0]) : runs_show_cmd(l, args[0]);
}

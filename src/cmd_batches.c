/* cmd_batches — see cmd_batches.h. */
#include "cmd_batches.h"

#include "cmd_ledger.h"
#include "config.h"
#include "json_time.h"
#include "retrain_config.h"
#include "rules.h"
#include "runs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 256

static const char batches_usage[] =
    "usage: retrainctl batches list [--rule R] [--ledger URL]\n"
    "  The batches not submitted yet, one JSON object a line, oldest first: run, rule, key,\n"
    "  events, first_event, last_event, state (open, or closed and waiting for the follower),\n"
    "  closed_by, and waits_for: what closes an open batch (quiet_until, deadline and\n"
    "  on_timeout, events_to_go, marker), from the rule in the config ($RETRAIN_CONFIG).\n"
    "  The ledger is --ledger URL, else $RETRAIN_LEDGER, else the config.\n"
    "  Exit: 0 success, 2 usage or environment error.\n";

/* The rules of the config, or NULL when there is none to read (waits_for is then null). */
static rules *load_rules(void)
{
    config cfg;
    char err[CONFIG_ERR_MAX];
    if (config_load(getenv("RETRAIN_CONFIG"), &cfg, err) != 0)
        return NULL;
    retrain_config rc;
    char why[1024];
    problems p = {.buf = why, .cap = sizeof why};
    rules *rs = NULL;
    if (retrain_config_read(cfg.sections, &rc, &p) == 0) {
        if (rules_compile(rc.rules, &rs, why, sizeof why) != 0)
            rs = NULL;
        retrain_config_free(&rc);
    }
    config_free(&cfg);
    return rs;
}

/* What open batch RUN waits for under B. */
static json_t *waits_for(const rules_batch *b, const run_record *run)
{
    json_t *w = json_object();
    if (!w)
        return NULL;
    if (!run->collecting) {
        json_object_set_new(w, "submission", json_time_ms(run->next_check_ms));
        return w;
    }
    if (b->quiet_period_s && run->last_event_ms)
        json_object_set_new(w, "quiet_until",
                            json_time_ms(run->last_event_ms + (int64_t)b->quiet_period_s * 1000));
    if (b->max_wait_s) {
        json_object_set_new(w, "deadline",
                            json_time_ms(run->queued_ms + (int64_t)b->max_wait_s * 1000));
        json_object_set_new(w, "on_timeout", json_string(b->expire ? "expire" : "submit"));
    }
    if (b->min_events)
        json_object_set_new(
            w, "events_to_go",
            json_integer(b->min_events > run->events ? b->min_events - run->events : 0));
    if (b->marker)
        json_object_set_new(w, "marker", json_string(b->marker));
    return w;
}

static json_t *batch_json(const rules *rs, const run_record *run)
{
    const rule *r = rs ? rules_find(rs, run->rule) : NULL;
    const rules_batch *b = r ? rules_batch_of(r) : NULL;
    json_t *w = b ? waits_for(b, run) : json_null();
    return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:o, s:o}", "run", run->id, "rule",
                     run->rule ? run->rule : "", "key", run->batch_key ? run->batch_key : "",
                     "events", run->events, "first_event", json_time_ms(run->queued_ms),
                     "last_event", json_time_ms(run->last_event_ms), "state",
                     run->collecting ? "open" : "closed", "closed_by",
                     json_string_or_null(run->batch_closed[0] ? run->batch_closed : NULL),
                     "waits_for", w ? w : json_null());
}

static int list(ledger *l, const char *rule)
{
    run_record *runs = calloc(PAGE, sizeof *runs);
    if (!runs)
        return cmd_fail_ledger(l, LEDGER_ERR_UNAVAILABLE);
    rules *rs = load_rules();
    char after[RUN_ID_LEN + 1] = "";
    ledger_status st;
    for (;;) {
        run_query q = {.rule = rule,
                       .state = RUN_QUEUED,
                       .limit = PAGE,
                       .after_id = after[0] ? after : NULL,
                       .open_batches = true};
        size_t n = 0;
        if ((st = runs_list(l, &q, runs, PAGE, &n)) != LEDGER_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            cmd_print_json(batch_json(rs, &runs[i]), JSON_COMPACT);
            memcpy(after, runs[i].id, sizeof after);
            run_record_clear(&runs[i]);
        }
        if (n < PAGE)
            break;
    }
    rules_free(rs);
    free(runs);
    if (st != LEDGER_OK)
        return cmd_fail_ledger(l, st);
    ledger_close(l);
    return CMD_EXIT_OK;
}

int cmd_batches(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(batches_usage, stdout);
        return CMD_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "list") != 0)
        return cmd_usage_error(batches_usage, "batches: %s", argc < 2 ? "list?" : "unknown action");
    static const struct option opts[] = {{"rule", required_argument, NULL, 'r'},
                                         {"ledger", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rule = NULL, *url = NULL;
    int c;
    optind = 0;
    opterr = 0;
    char **sub = argv + 1;
    while ((c = getopt_long(argc - 1, sub, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(batches_usage, stdout);
            return CMD_EXIT_OK;
        case 'r':
            if (!*optarg)
                return cmd_usage_error(batches_usage, "batches: bad --rule %s", optarg);
            rule = optarg;
            break;
        case 'l':
            url = optarg;
            break;
        default:
            return cmd_usage_error(batches_usage, "batches: bad option %s", sub[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cmd_usage_error(batches_usage, "batches list: %s", "takes no arguments");
    ledger *l = cmd_open_ledger(url);
    return l ? list(l, rule) : CMD_EXIT_USAGE;
}

/* cmd_events — `retrainctl events list|show` and `retrainctl gc` over the ledger API.
 *
 * Each command opens the ledger, does one thing, prints JSON built with jansson and closes it;
 * the ledger's own error text (already free of secrets) explains failures. */
#include "cmd_events.h"
#include "cmd_ledger.h"

#include "config.h"
#include "ledger.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_PAGE 256
#define LIST_MAX 1000000
#define DEFAULT_GC_AGE_S (7 * 24 * 3600)

static const char events_usage[] =
    "usage: retrainctl events list [--status S] [--since T] [--limit N] [--ledger URL]\n"
    "       retrainctl events show KEY|ID [--ledger URL]\n"
    "  S: claimed, done, failed, coalesced, ignored or expired (a batch that timed out)\n"
    "  T: RFC 3339 time (2026-11-26T07:00:00Z) or a duration ago (30s, 15m, 2h, 7d)\n"
    "  N: how many records at most (default 100)\n"
    "  The ledger is --ledger URL, else $RETRAIN_LEDGER, else the config ($RETRAIN_CONFIG).\n"
    "  Exit: 0 success, 1 not found, 2 usage or environment error.\n";

static const char gc_usage[] =
    "usage: retrainctl gc [--older-than DURATION] [--ledger URL]\n"
    "  Deletes finished records last seen more than DURATION ago (30s, 15m, 2h, 7d; default\n"
    "  7d). Claimed records are never deleted.\n"
    "  Exit: 0 success, 2 usage or environment error.\n";

static json_t *record_json(const ledger_record *r, bool with_event)
{
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "key", r->key,
        "source", json_string_or_null(r->source), "id", json_string_or_null(r->id), "type",
        json_string_or_null(r->type), "subject", json_string_or_null(r->subject), "event_time",
        json_string_or_null(r->event_time), "status", r->status, "attempts", r->attempts,
        "first_seen", json_time_ms(r->first_seen_ms), "last_seen", json_time_ms(r->last_seen_ms),
        "lease_until", json_time_ms(r->lease_until_ms), "last_error",
        json_string_or_null(r->last_error), "outcome", cmd_stored_json(r->outcome));
    if (o)
        json_object_set_new(o, "run", json_string_or_null(r->run_id));
    if (o && with_event)
        json_object_set_new(o, "event", cmd_stored_json(r->event_json));
    return o;
}

static bool key_like(const char *s)
{
    if (strlen(s) != LEDGER_KEY_HEX)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static int events_list(ledger *l, const char *status, int64_t since_ms, long limit)
{
    ledger_record *recs = calloc(LIST_PAGE, sizeof *recs);
    if (!recs)
        return cmd_fail_ledger(l, LEDGER_ERR_UNAVAILABLE);
    char after[LEDGER_KEY_HEX + 1] = "";
    long printed = 0;
    ledger_status st = LEDGER_OK;
    while (printed < limit) {
        long want = limit - printed < LIST_PAGE ? limit - printed : LIST_PAGE;
        ledger_query q = {.status = status,
                          .since_ms = since_ms,
                          .limit = (int)want,
                          .after_key = after[0] ? after : NULL};
        size_t n = 0;
        if ((st = ledger_list(l, &q, recs, LIST_PAGE, &n)) != LEDGER_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            cmd_print_json(record_json(&recs[i], false), JSON_COMPACT);
            memcpy(after, recs[i].key, sizeof after);
            ledger_record_clear(&recs[i]);
        }
        printed += (long)n;
        if ((long)n < want)
            break;
    }
    free(recs);
    if (st != LEDGER_OK)
        return cmd_fail_ledger(l, st);
    ledger_close(l);
    return CMD_EXIT_OK;
}

static int events_show(ledger *l, const char *what)
{
    ledger_record recs[16];
    size_t n = 0;
    ledger_status st;
    if (key_like(what)) {
        st = ledger_get(l, what, &recs[0]);
        n = st == LEDGER_OK ? 1 : 0;
    } else {
        st = ledger_list(l, &(ledger_query){.id = what, .limit = 16}, recs, 16, &n);
    }
    if (st != LEDGER_OK && st != LEDGER_ERR_NOT_FOUND)
        return cmd_fail_ledger(l, st);
    for (size_t i = 0; i < n; i++) {
        cmd_print_json(record_json(&recs[i], true), JSON_INDENT(2));
        ledger_record_clear(&recs[i]);
    }
    ledger_close(l);
    if (n == 0) {
        fprintf(stderr, "retrainctl: no event %s in the ledger\n", what);
        return CMD_EXIT_NOT_FOUND;
    }
    return CMD_EXIT_OK;
}

static bool status_name_valid(const char *s)
{
    static const char *const names[] = {"claimed",   "done",    "failed",
                                        "coalesced", "ignored", "expired"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

int cmd_events(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(events_usage, stdout);
        return CMD_EXIT_OK;
    }
    if (argc < 2)
        return cmd_usage_error(events_usage, "%s: list or show?", "events");
    const char *action = argv[1];
    bool list = strcmp(action, "list") == 0;
    if (!list && strcmp(action, "show") != 0)
        return cmd_usage_error(events_usage, "events: unknown action %s", action);

    static const struct option opts[] = {
        {"status", required_argument, NULL, 's'}, {"since", required_argument, NULL, 't'},
        {"limit", required_argument, NULL, 'n'},  {"ledger", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *status = NULL, *url = NULL;
    int64_t since_ms = 0;
    long limit = 100;
    int c;
    optind = 0; /* GNU: restart scanning; the command may run more than once per process */
    opterr = 0;
    char **sub = argv + 1; /* parsed from the action on, so options may follow KEY|ID */
    while ((c = getopt_long(argc - 1, sub, "", opts, NULL)) != -1) {
        const char *arg = optarg;
        switch (c) {
        case 'h':
            fputs(events_usage, stdout);
            return CMD_EXIT_OK;
        case 's':
            if (!list || !status_name_valid(arg))
                return cmd_usage_error(events_usage, "events: bad --status %s", arg);
            status = arg;
            break;
        case 't': {
            int64_t ago = cmd_parse_duration(arg);
            since_ms = ago >= 0 ? ((int64_t)time(NULL) - ago) * 1000 : time_parse_rfc3339(arg);
            if (!list || since_ms < 0)
                return cmd_usage_error(events_usage, "events: bad --since %s", arg);
            break;
        }
        case 'n': {
            char *end;
            limit = strtol(arg, &end, 10);
            if (!list || *end || end == arg || limit < 1 || limit > LIST_MAX)
                return cmd_usage_error(events_usage, "events: bad --limit %s", arg);
            break;
        }
        case 'l':
            url = arg;
            break;
        default:
            return cmd_usage_error(events_usage, "events: bad option %s", sub[optind - 1]);
        }
    }
    int rest = argc - 1 - optind;
    char **args = sub + optind;
    if (list ? rest != 0 : rest != 1)
        return cmd_usage_error(events_usage, "events %s: wrong arguments", action);
    ledger *l = cmd_open_ledger(url);
    if (!l)
        return CMD_EXIT_USAGE;
    return list ? events_list(l, status, since_ms, limit) : events_show(l, args[0]);
}

int cmd_gc(int argc, char **argv)
{
    static const struct option opts[] = {{"older-than", required_argument, NULL, 'o'},
                                         {"ledger", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL;
    int64_t age = DEFAULT_GC_AGE_S;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(gc_usage, stdout);
            return CMD_EXIT_OK;
        case 'o':
            if ((age = cmd_parse_duration(optarg)) < 0)
                return cmd_usage_error(gc_usage, "gc: bad --older-than %s", optarg);
            break;
        case 'l':
            url = optarg;
            break;
        default:
            return cmd_usage_error(gc_usage, "gc: bad option %s", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cmd_usage_error(gc_usage, "gc: unexpected argument %s", argv[optind]);
    ledger *l = cmd_open_ledger(url);
    if (!l)
        return CMD_EXIT_USAGE;
    int64_t removed = 0;
    ledger_status st = ledger_gc(l, age, &removed);
    if (st != LEDGER_OK)
        return cmd_fail_ledger(l, st);
    ledger_close(l);
    cmd_print_json(
        json_pack("{s:I, s:I}", "removed", (json_int_t)removed, "older_than_s", (json_int_t)age),
        JSON_COMPACT);
    return CMD_EXIT_OK;
}

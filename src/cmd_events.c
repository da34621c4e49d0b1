/* cmd_events — `retrainctl events list|show` and `retrainctl gc` over the ledger API.
 *
 * Each command opens the ledger, does one thing, prints JSON built with jansson and closes it;
 * the ledger's own error text (already free of secrets) explains failures. */
#include "cmd_events.h"

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

enum { EXIT_OK = 0, EXIT_NOT_FOUND = 1, EXIT_USAGE = 2 };

static const char events_usage[] =
    "usage: retrainctl events list [--status S] [--since T] [--limit N] [--ledger URL]\n"
    "       retrainctl events show KEY|ID [--ledger URL]\n"
    "  S: claimed, done, failed, coalesced or ignored\n"
    "  T: RFC 3339 time (2026-11-26T07:00:00Z) or a duration ago (30s, 15m, 2h, 7d)\n"
    "  N: how many records at most (default 100)\n"
    "  The ledger is --ledger URL, else $RETRAIN_LEDGER, else the config ($RETRAIN_CONFIG).\n"
    "  Exit: 0 success, 1 not found, 2 usage or environment error.\n";

static const char gc_usage[] =
    "usage: retrainctl gc [--older-than DURATION] [--ledger URL]\n"
    "  Deletes finished records last seen more than DURATION ago (30s, 15m, 2h, 7d; default\n"
    "  7d). Claimed records are never deleted.\n"
    "  Exit: 0 success, 2 usage or environment error.\n";

/* "90s", "15m", "2h", "7d", "1w", each optionally followed by " ago"; -1 when malformed. */
static int64_t parse_duration(const char *s)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    long long n = strtoll(s, &end, 10);
    int64_t unit = 0;
    switch (*end) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 7 * 86400;
        break;
    default:
        return -1;
    }
    end++;
    if (strcmp(end, "") != 0 && strcmp(end, " ago") != 0 && strcmp(end, "ago") != 0)
        return -1;
    if (n > INT64_MAX / unit / 1000)
        return -1;
    return n * unit;
}

/* RFC 3339 ("2026-11-26T07:00:00Z", fraction and offset optional) to ms; -1 when malformed. */
static int64_t parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 ||
        used != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    const char *p = s + used;
    int64_t ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
            return -1;
        offset_s = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return ((int64_t)t - offset_s) * 1000 + ms;
}

static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[48];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
    return json_string(buf);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Stored JSON text as JSON again; kept as a string when it does not parse. */
static json_t *stored_json(const char *text)
{
    if (!text)
        return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

static json_t *record_json(const ledger_record *r, bool with_event)
{
    json_t *o =
        json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "key",
                  r->key, "source", string_or_null(r->source), "id", string_or_null(r->id), "type",
                  string_or_null(r->type), "subject", string_or_null(r->subject), "event_time",
                  string_or_null(r->event_time), "status", r->status, "attempts", r->attempts,
                  "first_seen", time_json(r->first_seen_ms), "last_seen",
                  time_json(r->last_seen_ms), "lease_until", time_json(r->lease_until_ms),
                  "last_error", string_or_null(r->last_error), "outcome", stored_json(r->outcome));
    if (o && with_event)
        json_object_set_new(o, "event", stored_json(r->event_json));
    return o;
}

static void print_json(json_t *o, size_t flags)
{
    if (!o)
        return;
    char *text = json_dumps(o, flags | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(o);
}

/* Opens the ledger named by --ledger, $RETRAIN_LEDGER or the config; NULL after a message. */
static ledger *open_ledger(const char *flag_url)
{
    const char *url = flag_url ? flag_url : getenv("RETRAIN_LEDGER");
    config cfg = {0};
    bool have_cfg = false;
    if (!url || !*url) {
        char cerr[CONFIG_ERR_MAX];
        if (config_load(getenv("RETRAIN_CONFIG"), &cfg, cerr) != 0) {
            fprintf(stderr, "retrainctl: config:\n%s\n", cerr);
            return NULL;
        }
        have_cfg = true;
        url = cfg.ledger.url;
    }
    ledger *l = NULL;
    char err[LEDGER_ERR_MAX];
    if (ledger_open(url, &l, err) != LEDGER_OK)
        fprintf(stderr, "retrainctl: %s\n", err);
    if (have_cfg)
        config_free(&cfg);
    return l;
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

static int fail_ledger(ledger *l, ledger_status st)
{
    fprintf(stderr, "retrainctl: %s (%s)\n", ledger_last_error(l), ledger_status_name(st));
    ledger_close(l);
    return EXIT_USAGE;
}

static int events_list(ledger *l, const char *status, int64_t since_ms, long limit)
{
    ledger_record *recs = calloc(LIST_PAGE, sizeof *recs);
    if (!recs)
        return fail_ledger(l, LEDGER_ERR_UNAVAILABLE);
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
            print_json(record_json(&recs[i], false), JSON_COMPACT);
            memcpy(after, recs[i].key, sizeof after);
            ledger_record_clear(&recs[i]);
        }
        printed += (long)n;
        if ((long)n < want)
            break;
    }
    free(recs);
    if (st != LEDGER_OK)
        return fail_ledger(l, st);
    ledger_close(l);
    return EXIT_OK;
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
        return fail_ledger(l, st);
    for (size_t i = 0; i < n; i++) {
        print_json(record_json(&recs[i], true), JSON_INDENT(2));
        ledger_record_clear(&recs[i]);
    }
    ledger_close(l);
    if (n == 0) {
        fprintf(stderr, "retrainctl: no event %s in the ledger\n", what);
        return EXIT_NOT_FOUND;
    }
    return EXIT_OK;
}

static bool status_name_valid(const char *s)
{
    static const char *const names[] = {"claimed", "done", "failed", "coalesced", "ignored"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "retrainctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

int cmd_events(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(events_usage, stdout);
        return EXIT_OK;
    }
    if (argc < 2)
        return usage_error(events_usage, "%s: list or show?", "events");
    const char *action = argv[1];
    bool list = strcmp(action, "list") == 0;
    if (!list && strcmp(action, "show") != 0)
        return usage_error(events_usage, "events: unknown action %s", action);

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
            return EXIT_OK;
        case 's':
            if (!list || !status_name_valid(arg))
                return usage_error(events_usage, "events: bad --status %s", arg);
            status = arg;
            break;
        case 't': {
            int64_t ago = parse_duration(arg);
            since_ms = ago >= 0 ? ((int64_t)time(NULL) - ago) * 1000 : parse_rfc3339(arg);
            if (!list || since_ms < 0)
                return usage_error(events_usage, "events: bad --since %s", arg);
            break;
        }
        case 'n': {
            char *end;
            limit = strtol(arg, &end, 10);
            if (!list || *end || end == arg || limit < 1 || limit > LIST_MAX)
                return usage_error(events_usage, "events: bad --limit %s", arg);
            break;
        }
        case 'l':
            url = arg;
            break;
        default:
            return usage_error(events_usage, "events: bad option %s", sub[optind - 1]);
        }
    }
    int rest = argc - 1 - optind;
    char **args = sub + optind;
    if (list ? rest != 0 : rest != 1)
        return usage_error(events_usage, "events %s: wrong arguments", action);
    ledger *l = open_ledger(url);
    if (!l)
        return EXIT_USAGE;
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
            return EXIT_OK;
        case 'o':
            if ((age = parse_duration(optarg)) < 0)
                return usage_error(gc_usage, "gc: bad --older-than %s", optarg);
            break;
        case 'l':
            url = optarg;
            break;
        default:
            return usage_error(gc_usage, "gc: bad option %s", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return usage_error(gc_usage, "gc: unexpected argument %s", argv[optind]);
    ledger *l = open_ledger(url);
    if (!l)
        return EXIT_USAGE;
    int64_t removed = 0;
    ledger_status st = ledger_gc(l, age, &removed);
    if (st != LEDGER_OK)
        return fail_ledger(l, st);
    ledger_close(l);
    print_json(
        json_pack("{s:I, s:I}", "removed", (json_int_t)removed, "older_than_s", (json_int_t)age),
        JSON_COMPACT);
    return EXIT_OK;
}

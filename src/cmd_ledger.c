/* cmd_ledger — see cmd_ledger.h. */
#include "cmd_ledger.h"

#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "90s", "15m", "2h", "7d", "1w", each optionally followed by " ago"; -1 when malformed. */
int64_t cmd_parse_duration(const char *s)
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

/* Stored JSON text as JSON again; kept as a string when it does not parse. */
json_t *cmd_stored_json(const char *text)
{
    if (!text)
        return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

void cmd_print_json(json_t *o, size_t flags)
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
ledger *cmd_open_ledger(const char *flag_url)
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

int cmd_fail_ledger(ledger *l, ledger_status st)
{
    fprintf(stderr, "retrainctl: %s (%s)\n", ledger_last_error(l), ledger_status_name(st));
    ledger_close(l);
    return CMD_EXIT_USAGE;
}

int cmd_usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "retrainctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return CMD_EXIT_USAGE;
}

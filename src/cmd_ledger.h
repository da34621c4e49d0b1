/* cmd_ledger — what retrainctl's ledger commands share: opening the ledger the way every one
 * of them finds it, reading times and durations from the command line, and printing records as
 * JSON. Strings returned as json_t are new references; printing takes the reference it is
 * given. */
#ifndef RT_CMD_LEDGER_H
#define RT_CMD_LEDGER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "json_time.h"
#include "ledger.h"

enum { CMD_EXIT_OK = 0, CMD_EXIT_NOT_FOUND = 1, CMD_EXIT_USAGE = 2 };

/* "90s", "15m", "2h", "7d", "1w", each optionally followed by " ago", in seconds; -1 when
 * malformed. */
int64_t cmd_parse_duration(const char *s);

/* Stored JSON text as JSON again; kept as a string when it does not parse. */
json_t *cmd_stored_json(const char *text);
/* Prints O (stolen; NULL prints nothing) as one JSON text and a newline. */
void cmd_print_json(json_t *o, size_t flags);

/* Opens the ledger named by FLAG_URL, else $RETRAIN_LEDGER, else the config ($RETRAIN_CONFIG);
 * NULL after a message on stderr. */
ledger *cmd_open_ledger(const char *flag_url);
/* Says why L failed with ST, closes L, and returns CMD_EXIT_USAGE. */
int cmd_fail_ledger(ledger *l, ledger_status st);
/* Prints FMT with ARG and USAGE to stderr; returns CMD_EXIT_USAGE. */
int cmd_usage_error(const char *usage, const char *fmt, const char *arg);

#endif

/* cmd_events — the ledger's `retrainctl` subcommands.
 *
 *   events list [--status S] [--since T] [--limit N] [--ledger URL]
 *   events show KEY|ID [--ledger URL]
 *   gc [--older-than DURATION] [--ledger URL]
 *
 * ARGV[0] is the subcommand's own name ("events" or "gc"); the caller passes what follows
 * `retrainctl`. T is an RFC 3339 time or a duration meaning "that long ago" (30s, 15m, 2h, 7d,
 * optionally followed by "ago"); DURATION is a duration (default 7d). The ledger is --ledger URL,
 * else $RETRAIN_LEDGER, else the config file named by $RETRAIN_CONFIG (or the built-in default).
 *
 * Output is JSON on stdout: `list` writes one record per line, `show` each matching record (an
 * ID may match records from several sources), `gc` one summary object. Problems go to stderr.
 * Exit status: 0 success, 1 nothing found (show), 2 usage or environment error (bad option,
 * ledger cannot be opened or read). */
#ifndef RT_CMD_EVENTS_H
#define RT_CMD_EVENTS_H

int cmd_events(int argc, char **argv);
int cmd_gc(int argc, char **argv);

#endif

/* cmd_runs — `retrainctl runs`: the runs events started, read from the ledger (runs.h).
 *
 *   runs list [--rule R] [--state S] [--since T] [--limit N] [--ledger URL]
 *   runs show ID [--ledger URL]
 *   runs cancel ID [--ledger URL]   (through the configured function: $RETRAIN_CONFIG)
 *
 * ARGV[0] is "runs". T and the ledger are read as by `events` (cmd_ledger.h). `list` writes one
 * run per line, in the order they were queued; `show` one run with the events it covers (the
 * one that began it first). Exit status: 0 success, 1 no such run, 2 usage or environment
 * error. */
#ifndef RT_CMD_RUNS_H
#define RT_CMD_RUNS_H

int cmd_runs(int argc, char **argv);

#endif

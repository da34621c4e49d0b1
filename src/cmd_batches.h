/* cmd_batches — `retrainctl batches list [--rule R] [--ledger URL]`: the batches not submitted
 * yet, read from the ledger (runs.h), one JSON object a line in the order they opened: the run,
 * rule, key, events, first and last event time, whether it is open or closed (and by what),
 * and what it waits for, from the rule's batch section in the config ($RETRAIN_CONFIG; without
 * a readable config, "waits_for" is null). ARGV[0] is "batches". Exit status: 0 success, 2 usage
 * or environment error. */
#ifndef RT_CMD_BATCHES_H
#define RT_CMD_BATCHES_H

int cmd_batches(int argc, char **argv);

#endif

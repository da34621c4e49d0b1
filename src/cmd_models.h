/* cmd_models — retrainctl's commands on the Model Registry, through the retrain function of the
 * config ($RETRAIN_CONFIG) and its credentials:
 *   promote MODEL@VERSION --alias A [--reason TEXT]   move an alias by hand
 *   rollback MODEL --alias A [--reason TEXT]          move it back to its previous holder
 *   models history MODEL                              each version, its run, metric, decision
 *                                                     and aliases
 * Every move is made under the promotion gate's lock and audited in the ledger (alias_moves.h).
 * ARGV[0] is the command's name. Exit status: 0 success, 1 nothing to do or Vertex refused,
 * 2 usage or environment error. */
#ifndef RT_CMD_MODELS_H
#define RT_CMD_MODELS_H

int cmd_promote(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_models(int argc, char **argv);

#endif

/* cmd_check_config — `retrainctl check-config FILE`: is this config file good to deploy?
 *
 * Loads FILE as the service would (config_load: the file over the defaults, then the RETRAIN_*
 * environment) and checks it as the pool does at start and on every SIGHUP (config_check: the
 * cross-field constraints, the function, the rules compiled). Prints "FILE: ok (N rules)" on stdout
 * and returns 0; or prints every problem on stderr, one per line, each with its JSON path
 * ("rules[0].match.name: unsupported glob: ..."), then "FILE: N problem(s)", and returns 2. The
 * rules are checked even when the rest of the file has problems, so one run shows everything.
 * `--help` prints the usage on stdout and returns 0; a wrong command line prints it on stderr and
 * returns 2. */
#ifndef RT_CMD_CHECK_CONFIG_H
#define RT_CMD_CHECK_CONFIG_H

/* ARGV[0] is the subcommand's name ("check-config"). */
int cmd_check_config(int argc, char **argv);

#endif

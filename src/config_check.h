/* config_check — can the pool run this configuration? The one check behind `retrainctl
 * check-config`, `retrain-fcgi --check`, the pool's start and every SIGHUP reload, so a reload
 * accepts exactly what check-config accepts and a worker never meets a configuration the
 * master took without looking.
 *
 * A loaded configuration (config_load succeeded) passes when its cross-field constraints hold
 * (config_validate), a function is registered under its "function" (fn_lookup, as a worker
 * looks it up), and every registered function accepts its own keys (fn_def.check_config: the
 * retrain function's vertex section and rules, compiled as a worker compiles them; they are
 * checked whatever the function, so a file that passes can switch to retrain). What only a running
 * worker can find out (credentials that Google refuses, a ledger that will not open) is not checked
 * here: the master keeps the running generation when the first worker of a new one cannot start.
 *
 * Problems are written into ERR one per line, each with its JSON path, all of them at once; a
 * problem that does not fit in ERRLEN is cut, never the count. */
#ifndef RT_CONFIG_CHECK_H
#define RT_CONFIG_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

/* 0, or the number of problems (> 0) with them in ERR. *N_RULES (may be NULL) receives the
 * number of rules when they compile. */
int config_check(const config *cfg, char *err, size_t errlen, size_t *n_rules);

/* The functions' part alone (each registered function's check_config), for a file config_load
 * refused: SECTIONS is the file's top-level object. 0, or the number of problems in ERR. */
int config_check_sections(const json_t *sections, char *err, size_t errlen, size_t *n_rules);

#endif

/* cmd_models — see cmd_models.h. */
#include "cmd_models.h"

#include "alias_moves.h"
#include "cmd_ledger.h"
#include "config.h"
#include "function.h"
#include "json_time.h"
#include "retrain.h"
#include "runs.h"
#include "vertex_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MAX 512
#define RUNS_MAX 100000 /* runs of one model read for its history, in pages of RUNS_PAGE */
#define RUNS_PAGE 500
#define MOVES_MAX 1000
#define KEYS_MAX 20

static const char promote_usage[] =
    "usage: retrainctl promote MODEL@VERSION --alias A [--reason TEXT] [--ledger URL]\n"
    "  Moves alias A of MODEL to VERSION by hand (models.mergeVersionAliases), under the lock\n"
    "  the promotion gate takes, and records the move in the ledger's audit with TEXT\n"
    "  (default \"promoted by hand\"). MODEL is projects/P/locations/L/models/ID or the ID in\n"
    "  the config's project and region. Prints the move as JSON.\n"
    "  Exit: 0 moved, 1 nothing to do (VERSION holds A already) or Vertex refused, 2 usage or\n"
    "  environment error.\n";

static const char rollback_usage[] =
    "usage: retrainctl rollback MODEL --alias A [--reason TEXT] [--ledger URL]\n"
    "  Moves alias A of MODEL back to the version that held it before its last recorded move,\n"
    "  and records that in the audit (default reason \"rolled back by hand\"). Prints the move.\n"
    "  Exit: 0 moved, 1 nothing to roll back to (no earlier holder recorded) or Vertex refused,\n"
    "  2 usage or environment error.\n";

static const char models_usage[] =
    "usage: retrainctl models history MODEL [--ledger URL]\n"
    "  Each version of MODEL, oldest first, one JSON object a line: its version, when it was\n"
    "  made, the aliases it holds now (from Vertex AI), the run and events that made it, its\n"
    "  metric and the promotion decision with its reason (from the ledger), and the recorded\n"
    "  moves of an alias onto it (when, from which version, by whom, why).\n"
    "  Exit: 0 success, 2 usage or environment error.\n";

/* The retrain function's state for the config ($RETRAIN_CONFIG), or NULL after a message. */
typedef struct {
    config cfg;
    const fn_def *fn;
    void *state;
    ledger *l;
    promote_env env;
} models_ctx;

static int ctx_open(models_ctx *c, const char *cmd, const char *ledger_url)
{
    memset(c, 0, sizeof *c);
    char err[CONFIG_ERR_MAX];
    if (config_load(getenv("RETRAIN_CONFIG"), &c->cfg, err) != 0) {
        fprintf(stderr, "retrainctl %s: configuration:\n%s\n", cmd, err);
        return -1;
    }
    c->fn = fn_lookup(c->cfg.function);
    if (c->fn != &retrain_function) {
        fprintf(stderr, "retrainctl %s: the function \"%s\" registers no models\n", cmd,
                c->cfg.function);
        return -1;
    }
    if (c->fn->init && c->fn->init(&c->cfg, &c->state, err, sizeof err) != 0) {
        fprintf(stderr, "retrainctl %s: %s: %s\n", cmd, c->fn->name, err);
        return -1;
    }
    if (!(c->l = cmd_open_ledger(ledger_url)))
        return -1;
    c->env = retrain_gate_env(c->state, c->l);
    return 0;
}

static void ctx_close(models_ctx *c)
{
    ledger_close(c->l);
    if (c->fn && c->fn->fini && c->state)
        c->fn->fini(c->state);
    config_free(&c->cfg);
}

/* MODEL as a full name (an id is taken to be in the client's location), into OUT. */
static int full_model(const models_ctx *c, const char *model, char *out)
{
    int n = strncmp(model, "projects/", 9) == 0
                ? snprintf(out, MODEL_MAX, "%s", model)
                : snprintf(out, MODEL_MAX, "%s/models/%s", vtx_client_location(c->env.vtx), model);
    return n > 0 && n < MODEL_MAX && !strchr(model, '@') && strstr(out, "/models/") ? 0 : -1;
}

typedef struct {
    const char *target; /* MODEL@VERSION or MODEL */
    const char *alias, *reason, *ledger_url;
} move_args;

static int parse_move(int argc, char **argv, const char *usage, move_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        } else if (strcmp(argv[i], "--alias") == 0 && i + 1 < argc) {
            a->alias = argv[++i];
        } else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
            a->reason = argv[++i];
        } else if (strcmp(argv[i], "--ledger") == 0 && i + 1 < argc) {
            a->ledger_url = argv[++i];
        } else if (argv[i][0] != '-' && !a->target) {
            a->target = argv[i];
        } else {
            return -1;
        }
    }
    return a->target && a->alias ? 0 : -1;
}

/* promote (VERSION set) or rollback (VERSION NULL) of MODEL. */
static int move(const char *cmd, const move_args *a, const char *model, const char *version,
                const char *by, const char *deflt)
{
    if (!vtx_version_alias_valid(a->alias, false)) {
        fprintf(stderr,
                "retrainctl %s: --alias \"%.80s\" is not a valid Vertex alias "
                "([a-z][a-zA-Z0-9-]{0,126}[a-z0-9])\n",
                cmd, a->alias);
        return CMD_EXIT_USAGE;
    }
    models_ctx c;
    if (ctx_open(&c, cmd, a->ledger_url) != 0) {
        ctx_close(&c);
        return CMD_EXIT_USAGE;
    }
    char full[MODEL_MAX], from[64] = "", why[1024];
    int rc = CMD_EXIT_USAGE;
    if (full_model(&c, model, full) != 0) {
        fprintf(stderr, "retrainctl %s: \"%.200s\" names no model\n", cmd, model);
    } else {
        const char *reason = a->reason ? a->reason : deflt;
        rc = promote_move(&c.env, full, a->alias, version, by, reason, from, sizeof from, why,
                          sizeof why);
        if (rc == 0) {
            json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "model", full, "alias",
                                  a->alias, "from", from[0] ? json_string(from) : json_null(), "to",
                                  version ? version : "", "by", by, "why", reason);
            if (!version) { /* the version rolled back to is in the audit's newest move */
                alias_move last = {0};
                size_t n = 0;
                alias_move_query q = {.model = full, .alias = a->alias, .latest = true};
                if (alias_moves_list(c.l, &q, &last, 1, &n) == LEDGER_OK && n == 1)
                    json_object_set_new(o, "to", json_string(last.to_version));
                alias_move_clear(&last);
            }
            cmd_print_json(o, JSON_COMPACT);
        } else {
            fprintf(stderr, "retrainctl %s: %s\n", cmd, why);
        }
    }
    ctx_close(&c);
    return rc;
}

int cmd_promote(int argc, char **argv)
{
    move_args a;
    int p = parse_move(argc, argv, promote_usage, &a);
    if (p != 0)
        return p > 0 ? CMD_EXIT_OK
                     : cmd_usage_error(promote_usage, "%s",
                                       "promote: MODEL@VERSION and --alias A are required");
    const char *at = strrchr(a.target, '@');
    if (!at || at == a.target || !at[1]) {
        fprintf(stderr, "retrainctl promote: expected MODEL@VERSION, got \"%.200s\"\n", a.target);
        return CMD_EXIT_USAGE;
    }
    char model[MODEL_MAX];
    snprintf(model, sizeof model, "%.*s", (int)(at - a.target), a.target);
    return move("promote", &a, model, at + 1, ALIAS_BY_HAND, "promoted by hand");
}

int cmd_rollback(int argc, char **argv)
{
    move_args a;
    int p = parse_move(argc, argv, rollback_usage, &a);
    if (p != 0)
        return p > 0 ? CMD_EXIT_OK
                     : cmd_usage_error(rollback_usage, "%s",
                                       "rollback: MODEL and --alias A are required");
    return move("rollback", &a, a.target, NULL, ALIAS_BY_ROLLBACK, "rolled back by hand");
}

/* The run (of RUNS, N) that made VERSION (MODEL@ID), or NULL. */
static const run_record *run_of(const run_record *runs, size_t n, const char *version)
{
    for (size_t i = 0; i < n; i++)
        if (runs[i].model_version && strcmp(runs[i].model_version, version) == 0)
            return &runs[i];
    return NULL;
}

static json_t *moves_onto(const alias_move *moves, size_t n, const char *id)
{
    json_t *arr = json_array();
    for (size_t i = n; i-- > 0;) /* oldest first */
        if (strcmp(moves[i].to_version, id) == 0)
            json_array_append_new(
                arr,
                json_pack("{s:s, s:o, s:o, s:s, s:s}", "alias", moves[i].alias, "from",
                          moves[i].from_version ? json_string(moves[i].from_version) : json_null(),
                          "at", json_time_ms(moves[i].at_ms), "by", moves[i].by, "why",
                          moves[i].why));
    return arr;
}

/* One version's line. */
static json_t *version_line(ledger *l, const char *model, const json_t *v, const run_record *runs,
                            size_t n_runs, const alias_move *moves, size_t n_moves)
{
    const char *id = json_string_value(json_object_get(v, "versionId"));
    char name[MODEL_MAX + 80];
    snprintf(name, sizeof name, "%s@%s", model, id ? id : "");
    const json_t *aliases = json_object_get(v, "versionAliases");
    json_t *o = json_pack(
        "{s:s, s:s, s:O, s:O, s:O}", "model", model, "version", id ? id : "", "created",
        json_object_get(v, "createTime") ? json_object_get(v, "createTime") : json_null(),
        "display_name",
        json_object_get(v, "displayName") ? json_object_get(v, "displayName") : json_null(),
        "aliases", aliases ? aliases : json_array());
    const run_record *r = id ? run_of(runs, n_runs, name) : NULL;
    json_t *d = r && r->decision_json ? json_loads(r->decision_json, 0, NULL) : NULL;
    json_object_set_new(o, "run", r ? json_string(r->id) : json_null());
    json_object_set_new(o, "rule", r ? json_string(r->rule) : json_null());
    json_object_set_new(o, "events", json_integer(r ? r->events : 0));
    json_t *keys = json_array();
    if (r) {
        char(*k)[LEDGER_KEY_HEX + 1] = calloc(KEYS_MAX, sizeof *k);
        size_t nk = 0;
        if (k && runs_events(l, r->id, k, KEYS_MAX, &nk) == LEDGER_OK)
            for (size_t i = 0; i < nk; i++)
                json_array_append_new(keys, json_string(k[i]));
        free(k);
    }
    json_object_set_new(o, "event_keys", keys);
    const json_t *cand = json_object_get(d, "candidate");
    json_object_set(o, "metric",
                    json_object_get(d, "metric") ? json_object_get(d, "metric") : json_null());
    json_object_set(o, "value",
                    json_object_get(cand, "value") ? json_object_get(cand, "value") : json_null());
    json_object_set_new(o, "decision",
                        r && r->decision[0] ? json_string(r->decision) : json_null());
    json_object_set(o, "reason",
                    json_object_get(d, "reason") ? json_object_get(d, "reason") : json_null());
    json_object_set_new(o, "moves", moves_onto(moves, n_moves, id ? id : ""));
    json_decref(d);
    return o;
}

/* Every run that made a version of the model PREFIX names ("MODEL@"), page by page, into *OUT
 * (malloc'd, *N of them; the caller clears and frees them). 0, or -1 after a message. */
static int model_runs(ledger *l, const char *prefix, run_record **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    char after[RUN_ID_LEN + 1] = "";
    for (;;) {
        if (*n + RUNS_PAGE > cap) {
            size_t ncap = cap ? cap * 2 : RUNS_PAGE;
            run_record *grown = realloc(*out, ncap * sizeof *grown);
            if (!grown) {
                fprintf(stderr, "retrainctl models history: out of memory\n");
                return -1;
            }
            *out = grown;
            cap = ncap;
        }
        run_query q = {
            .state = -1, .model = prefix, .limit = RUNS_PAGE, .after_id = after[0] ? after : NULL};
        size_t got = 0;
        if (runs_list(l, &q, *out + *n, RUNS_PAGE, &got) != LEDGER_OK) {
            fprintf(stderr, "retrainctl models history: %s\n", ledger_last_error(l));
            return -1;
        }
        *n += got;
        if (got < RUNS_PAGE || *n >= RUNS_MAX)
            return 0;
        snprintf(after, sizeof after, "%s", (*out)[*n - 1].id);
    }
}

static long version_number(const json_t *v)
{
    const char *id = json_string_value(json_object_get(v, "versionId"));
    return id ? strtol(id, NULL, 10) : 0;
}

static int by_version(const void *a, const void *b)
{
    long x = version_number(*(const json_t *const *)a),
         y = version_number(*(const json_t *const *)b);
    return (x > y) - (x < y);
}

static int history(const char *model_arg, const char *ledger_url)
{
    models_ctx c;
    if (ctx_open(&c, "models history", ledger_url) != 0) {
        ctx_close(&c);
        return CMD_EXIT_USAGE;
    }
    char model[MODEL_MAX], prefix[MODEL_MAX + 2];
    int rc = CMD_EXIT_USAGE;
    run_record *runs = NULL;
    alias_move *moves = calloc(MOVES_MAX, sizeof *moves);
    size_t n_runs = 0, n_moves = 0;
    vtx_result res = {0};
    if (!moves) {
        fprintf(stderr, "retrainctl models history: out of memory\n");
        goto out;
    }
    if (full_model(&c, model_arg, model) != 0) {
        fprintf(stderr, "retrainctl models history: \"%.200s\" names no model\n", model_arg);
        goto out;
    }
    snprintf(prefix, sizeof prefix, "%s@", model);
    alias_move_query mq = {.model = model, .limit = MOVES_MAX};
    if (model_runs(c.l, prefix, &runs, &n_runs) != 0)
        goto out;
    if (alias_moves_list(c.l, &mq, moves, MOVES_MAX, &n_moves) != LEDGER_OK) {
        fprintf(stderr, "retrainctl models history: %s\n", ledger_last_error(c.l));
        goto out;
    }
    vtx_err e = vtx_list_model_versions(c.env.vtx, model, &res);
    if (e != VTX_OK) {
        fprintf(stderr, "retrainctl models history: listing the versions of %s: %s (%ld %s)\n",
                model, vtx_err_name(e), res.http_status, res.message);
        rc = e == VTX_ERR_NOT_FOUND ? CMD_EXIT_NOT_FOUND : CMD_EXIT_USAGE;
        goto out;
    }
    const json_t *versions = json_object_get(res.resource, "models");
    /* Oldest first: versions are numbered in the order they were made. */
    size_t nv = json_array_size(versions);
    const json_t **order = calloc(nv ? nv : 1, sizeof *order);
    if (!order) {
        fprintf(stderr, "retrainctl models history: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < nv; i++)
        order[i] = json_array_get(versions, i);
    qsort(order, nv, sizeof *order, by_version);
    for (size_t i = 0; i < nv; i++)
        cmd_print_json(version_line(c.l, model, order[i], runs, n_runs, moves, n_moves),
                       JSON_COMPACT);
    free(order);
    rc = CMD_EXIT_OK;
out:
    vtx_result_clear(&res);
    for (size_t i = 0; runs && i < n_runs; i++)
        run_record_clear(&runs[i]);
    for (size_t i = 0; moves && i < n_moves; i++)
        alias_move_clear(&moves[i]);
    free(runs);
    free(moves);
    ctx_close(&c);
    return rc;
}

int cmd_models(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(models_usage, stdout);
        return CMD_EXIT_OK;
    }
    if (argc < 3 || strcmp(argv[1], "history") != 0)
        return cmd_usage_error(models_usage, "%s", "models: history MODEL?");
    const char *model = NULL, *ledger_url = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(models_usage, stdout);
            return CMD_EXIT_OK;
        } else if (strcmp(argv[i], "--ledger") == 0 && i + 1 < argc) {
            ledger_url = argv[++i];
        } else if (argv[i][0] != '-' && !model) {
            model = argv[i];
        } else {
            return cmd_usage_error(models_usage, "models history: unexpected \"%.40s\"", argv[i]);
        }
    }
    if (!model)
        return cmd_usage_error(models_usage, "%s", "models history: MODEL?");
    return history(model, ledger_url);
}

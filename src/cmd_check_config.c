/* cmd_check_config — see cmd_check_config.h.
 *
 * A loaded file goes through config_check(), the check the pool makes at start and on every
 * reload. config_load() stops at the file's own problems and frees what it read, so when it
 * fails the functions' keys (the rules, ...) are read again straight from the file (if it is a
 * JSON object) and checked on their own: a typo at the top level must not hide a bad glob
 * further down. */
#include "cmd_check_config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_check.h"

#define CHECK_ERR_MAX 20480

static void usage(FILE *out)
{
    fprintf(out,
            "usage: retrainctl check-config FILE\n"
            "\n"
            "Checks a config file as the service would load it (the file, then the RETRAIN_*\n"
            "environment): every key, the cross-field constraints and every rule (match globs,\n"
            "actions, ${...} placeholders, labels, Vertex AI fields).\n"
            "Prints \"FILE: ok (N rules)\" and exits 0, or prints each problem with its JSON\n"
            "path on stderr and exits 2.\n");
}

/* Prints each line of ERR on stderr; returns how many there were. */
static int print_lines(const char *err)
{
    int n = 0;
    while (*err) {
        size_t len = strcspn(err, "\n");
        fprintf(stderr, "%.*s\n", (int)len, err);
        n++;
        err += len;
        if (*err == '\n')
            err++;
    }
    return n;
}

/* FILE's top level read directly, for when config_load() refused the file: a new reference,
 * or NULL when it is no JSON object. */
static json_t *object_from_file(const char *path)
{
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(root))
        return root;
    json_decref(root);
    return NULL;
}

int cmd_check_config(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0') {
        usage(stderr);
        return 2;
    }
    const char *path = argv[1];
    char err[CHECK_ERR_MAX];
    config cfg;
    int problems = 0;
    size_t n_rules = 0;
    if (config_load(path, &cfg, err) != 0) {
        problems += print_lines(err);
        json_t *root = object_from_file(path);
        if (root && config_check_sections(root, err, sizeof err, &n_rules) > 0)
            problems += print_lines(err);
        json_decref(root);
    } else {
        if (config_check(&cfg, err, sizeof err, &n_rules) > 0)
            problems += print_lines(err);
        config_free(&cfg);
    }
    if (problems) {
        fprintf(stderr, "%s: %d problem%s\n", path, problems, problems == 1 ? "" : "s");
        return 2;
    }
    printf("%s: ok (%zu rules)\n", path, n_rules);
    return 0;
}

/* cmd_verify_token — see cmd_verify_token.h. It goes through auth_check() itself, so what it
 * answers is exactly what a worker would answer for the same token at the same time. */
#include "cmd_verify_token.h"

#include "auth.h"
#include "config.h"
#include "jwt.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: retrainctl verify-token [--jwks URL|FILE] [--audience A] [--service-account E]\n"
    "                               [--now EPOCH] TOKEN|-\n"
    "Verifies a Google-signed ID token as the workers do. Prints its claims as JSON and exits 0\n"
    "when valid; prints the reason code on stderr and exits 1 when not; exits 2 on a usage\n"
    "error or when no key set can be had. Defaults come from RETRAIN_CONFIG and RETRAIN_*.\n";

/* Reads the token from stdin: at most a little over the size cap, trailing blanks dropped. */
static char *read_stdin_token(void)
{
    char *buf = malloc(JWT_MAX_LEN + 3);
    if (!buf)
        return NULL;
    size_t n = fread(buf, 1, JWT_MAX_LEN + 2, stdin);
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    buf[n] = '\0';
    return buf;
}

static int parse_epoch(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static void print_claims(const auth_claims *c)
{
    json_t *o = json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:I,s:I}", "kid", c->kid, "iss", c->iss, "aud",
                          c->aud, "email", c->email, "sub", c->sub, "iat", (json_int_t)c->iat,
                          "exp", (json_int_t)c->exp);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    printf("%s\n", text ? text : "{}");
    free(text);
    json_decref(o);
}

typedef struct {
    const char *jwks, *audience, *account, *token;
    int64_t now;
} options;

/* 0 to go on, else the exit code (help: 0 after printing; errors: 2). */
static int parse_options(int argc, char **argv, options *o, int *done)
{
    static const struct option longopts[] = {{"jwks", required_argument, NULL, 'j'},
                                             {"audience", required_argument, NULL, 'a'},
                                             {"service-account", required_argument, NULL, 's'},
                                             {"now", required_argument, NULL, 'n'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *done = 0;
    optind = 0; /* GNU: start afresh, this may run more than once in a process */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->jwks = optarg;
            break;
        case 'a':
            o->audience = optarg;
            break;
        case 's':
            o->account = optarg;
            break;
        case 'n':
            if (parse_epoch(optarg, &o->now) != 0) {
                fprintf(stderr, "verify-token: --now needs epoch seconds\n%s", usage);
                return *done = 1, 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return *done = 1, 0;
        default:
            fprintf(stderr, "verify-token: unknown option or missing value\n%s", usage);
            return *done = 1, 2;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "verify-token: exactly one TOKEN (or -) is needed\n%s", usage);
        return *done = 1, 2;
    }
    o->token = argv[optind];
    return 0;
}

static int is_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

int cmd_verify_token(int argc, char **argv)
{
    options o = {.now = (int64_t)time(NULL)};
    int done, rc = parse_options(argc, argv, &o, &done);
    if (done)
        return rc;

    config cfg;
    char err[CONFIG_ERR_MAX];
    if (config_load(getenv("RETRAIN_CONFIG"), &cfg, err) != 0) {
        fprintf(stderr, "verify-token: %s\n", err);
        return 2;
    }
    auth_config ac = cfg.auth;
    char *one_aud[] = {(char *)o.audience}, *one_sa[] = {(char *)o.account};
    if (o.audience)
        ac.audiences = (config_list){one_aud, 1};
    if (o.account)
        ac.service_accounts = (config_list){one_sa, 1};
    ac.token_cache_size = 0;
    ac.jwks_cache = NULL;
    ac.disabled = false;
    if (o.jwks)
        ac.jwks_url = (char *)o.jwks;

    jwks_options jo;
    jwks_options_default(&jo);
    jo.url = ac.jwks_url;
    if (!is_url(ac.jwks_url))
        jo.fetch = jwks_fetch_file;
    auth *a = auth_new_with_keys(&ac, jwks_new(&jo), err, sizeof err);
    char *stdin_token = NULL;
    if (!a) {
        fprintf(stderr,
                "verify-token: %s (use --audience and --service-account, or set "
                "RETRAIN_AUDIENCE and RETRAIN_SERVICE_ACCOUNTS)\n",
                err);
        rc = 2;
        goto out;
    }
    if (strcmp(o.token, "-") == 0 && !(o.token = stdin_token = read_stdin_token())) {
        rc = 2;
        goto out;
    }
    char *header = malloc(strlen(o.token) + 8);
    arena *ar = arena_new(1024);
    if (!header || !ar) {
        free(header);
        arena_free(ar);
        rc = 2;
        goto out;
    }
    sprintf(header, "Bearer %s", o.token);
    auth_claims claims;
    auth_result r = auth_check(a, header, o.now, ar, &claims);
    if (r == AUTH_OK) {
        print_claims(&claims);
        rc = 0;
    } else {
        fprintf(stderr, "%s\n", auth_result_code(r));
        rc = r == AUTH_KEYS_UNAVAILABLE ? 2 : 1;
    }
    free(header);
    arena_free(ar);
out:
    free(stdin_token);
    auth_free(a);
    config_free(&cfg);
    return rc;
}

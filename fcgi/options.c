/* options — see options.h. */
#include "options.h"

#include "config_check.h"
#include "function.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void print_function(const fn_def *def, void *arg)
{
    fprintf(arg, "  %-12s %s\n", def->name, def->summary ? def->summary : "");
}

void pool_usage(FILE *out)
{
    fputs(
        "Usage: retrain-fcgi [OPTIONS]\n"
        "\n"
        "A pre-forked pool of FastCGI workers that receive Eventarc CloudEvents from nginx,\n"
        "verify their Google OIDC token, de-duplicate them in the ledger and run the configured\n"
        "function on each. The master binds the socket, forks the workers, restarts those that\n"
        "die, recycles them after --max-requests, kills a request stuck past --request-timeout,\n"
        "and serves a scoreboard at GET /status and /metrics.\n"
        "\n"
        "Options (each overrides the config file and the environment):\n"
        "  -c, --config FILE          JSON config file (default: $RETRAIN_CONFIG, else built-in\n"
        "                             defaults)\n"
        "  -l, --listen ADDR          unix:/path/to.sock or host:port\n"
        "                             (default unix:/run/retrain/fcgi.sock; env RETRAIN_LISTEN)\n"
        "  -g, --socket-group GROUP   group that owns the unix socket, e.g. www-data, so nginx's\n"
        "                             workers can connect (default: ours)\n"
        "  -m, --socket-mode MODE     unix socket mode, octal (default 0660)\n"
        "  -b, --backlog N            listen backlog (default 1024)\n"
        "  -w, --workers N            worker processes; 0 = 2 x cores (default 0; env\n"
        "                             RETRAIN_WORKERS)\n"
        "  -r, --max-requests N       recycle a worker after N requests (default 100000)\n"
        "  -t, --request-timeout S    kill a worker whose request runs past S seconds; nginx\n"
        "                             answers that client 504 (default 30)\n"
        "  -s, --shutdown-timeout S   on SIGTERM, wait at most S seconds for in-flight requests\n"
        "                             (default 20)\n"
        "  -f, --function NAME        the function events are handed to (default echo; env\n"
        "                             RETRAIN_FUNCTION; the registered ones are listed below)\n"
        "      --log-level LEVEL      DEBUG, INFO, NOTICE, WARNING, ERROR (default INFO)\n"
        "      --pid-file FILE        write the master's pid there\n"
        "      --check                validate the configuration, print it, and exit\n"
        "  -h, --help                 this text\n"
        "      --version              the version\n"
        "\n"
        "Signals: SIGTERM/SIGINT stop accepting, let in-flight requests finish (bounded by\n"
        "--shutdown-timeout) and exit 0; SIGHUP re-reads the config and replaces the workers one\n"
        "by one, refusing no request.\n"
        "\n"
        "Environment: RETRAIN_CONFIG, RETRAIN_LISTEN, RETRAIN_WORKERS, RETRAIN_FUNCTION,\n"
        "RETRAIN_AUDIENCE, RETRAIN_SERVICE_ACCOUNTS, RETRAIN_JWKS_URL, RETRAIN_LEDGER,\n"
        "RETRAIN_VERTEX_ENDPOINT, RETRAIN_ACCESS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS,\n"
        "GCE_METADATA_HOST, GOOGLE_CLOUD_PROJECT.\n"
        "\n"
        "Exit status: 0 after a clean stop, 1 when the pool cannot start (socket in use, ...),\n"
        "2 for a bad option or configuration.\n"
        "\n"
        "Functions:\n",
        out);
    fn_foreach(print_function, out);
}

static int parse_int(const char *name, const char *s, int min, int max, int *out, char *err,
                     size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        snprintf(err, errlen, "--%s: \"%.40s\" is not an integer from %d to %d", name, s, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

pool_opt_result pool_options_parse(int argc, char **argv, pool_options *o, char *err, size_t errlen)
{
    enum { OPT_LOG_LEVEL = 256, OPT_PID_FILE, OPT_CHECK, OPT_VERSION };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"socket-group", required_argument, NULL, 'g'},
        {"socket-mode", required_argument, NULL, 'm'},
        {"backlog", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"max-requests", required_argument, NULL, 'r'},
        {"request-timeout", required_argument, NULL, 't'},
        {"shutdown-timeout", required_argument, NULL, 's'},
        {"function", required_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"pid-file", required_argument, NULL, OPT_PID_FILE},
        {"check", no_argument, NULL, OPT_CHECK},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->socket_mode = o->backlog = o->workers = o->max_requests = -1;
    o->request_timeout_s = o->shutdown_timeout_s = -1;
    err[0] = '\0';
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:l:g:m:b:w:r:t:s:f:h", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'c':
            o->config_path = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'g':
            o->socket_group = optarg;
            break;
        case 'f':
            o->function = optarg;
            break;
        case OPT_LOG_LEVEL:
            o->log_level = optarg;
            break;
        case OPT_PID_FILE:
            o->pid_file = optarg;
            break;
        case OPT_CHECK:
            o->check_only = true;
            break;
        case 'm': {
            char *end;
            errno = 0;
            long mode = strtol(optarg, &end, 8);
            if (errno || end == optarg || *end || mode < 0 || mode > 0777) {
                snprintf(err, errlen, "--socket-mode: \"%.20s\" is not an octal mode like 0660",
                         optarg);
                return POOL_OPT_USAGE;
            }
            o->socket_mode = (int)mode;
            break;
        }
        case 'b':
            rc = parse_int("backlog", optarg, 1, 65535, &o->backlog, err, errlen);
            break;
        case 'w':
            rc = parse_int("workers", optarg, 0, 256, &o->workers, err, errlen);
            break;
        case 'r':
            rc = parse_int("max-requests", optarg, 1, INT_MAX, &o->max_requests, err, errlen);
            break;
        case 't':
            rc = parse_int("request-timeout", optarg, 1, 3600, &o->request_timeout_s, err, errlen);
            break;
        case 's':
            rc =
                parse_int("shutdown-timeout", optarg, 0, 3600, &o->shutdown_timeout_s, err, errlen);
            break;
        case 'h':
            pool_usage(stdout);
            return POOL_OPT_EXIT;
        case OPT_VERSION:
            puts("retrain-fcgi 0.1.0");
            return POOL_OPT_EXIT;
        case ':':
            snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
            return POOL_OPT_USAGE;
        default:
            snprintf(err, errlen, "unknown option %.60s (see --help)", argv[optind - 1]);
            return POOL_OPT_USAGE;
        }
        if (rc != 0)
            return POOL_OPT_USAGE;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%.60s\" (see --help)", argv[optind]);
        return POOL_OPT_USAGE;
    }
    if (!o->config_path) {
        const char *env = getenv("RETRAIN_CONFIG");
        o->config_path = env && *env ? env : NULL;
    }
    return POOL_OPT_RUN;
}

static void override_int(int *dst, int v)
{
    if (v >= 0)
        *dst = v;
}

int pool_config_load(const pool_options *o, config *cfg, char *err)
{
    if (config_load(o->config_path, cfg, err) != 0)
        return -1;
    int oom = 0;
    if (o->listen)
        oom |= config_set_string(&cfg->listen, o->listen);
    if (o->socket_group)
        oom |= config_set_string(&cfg->socket_group, o->socket_group);
    if (o->function)
        oom |= config_set_string(&cfg->function, o->function);
    if (o->log_level)
        oom |= config_set_string(&cfg->log_level, o->log_level);
    override_int(&cfg->socket_mode, o->socket_mode);
    override_int(&cfg->backlog, o->backlog);
    override_int(&cfg->workers, o->workers);
    override_int(&cfg->max_requests, o->max_requests);
    override_int(&cfg->request_timeout_s, o->request_timeout_s);
    override_int(&cfg->shutdown_timeout_s, o->shutdown_timeout_s);
    if (oom) {
        snprintf(err, CONFIG_ERR_MAX, "out of memory");
        config_free(cfg);
        return -1;
    }
    if (config_check(cfg, err, CONFIG_ERR_MAX, NULL) != 0) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

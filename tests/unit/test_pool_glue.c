/* Unit tests for the pool's pure parts: option parsing and overrides (fcgi/options.c), the
 * FastCGI parameter glue (fcgi/glue.c), and the listening socket (fcgi/listener.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "builtins.h"
#include "glue.h"
#include "listener.h"
#include "options.h"

#define ARGV(...) ((char *[]){"retrain-fcgi", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"retrain-fcgi", __VA_ARGS__}) / sizeof(char *)))

static pool_opt_result parse(int argc, char **argv, pool_options *o, char *err)
{
    return pool_options_parse(argc, argv, o, err, 256);
}

static void test_options_values(void **state)
{
    (void)state;
    pool_options o;
    char err[256];
    assert_int_equal(parse(ARGC("-w", "3", "--listen", "unix:/tmp/x.sock", "--socket-mode", "0600",
                                "--max-requests=50", "-t", "7", "--function", "echo"),
                           ARGV("-w", "3", "--listen", "unix:/tmp/x.sock", "--socket-mode", "0600",
                                "--max-requests=50", "-t", "7", "--function", "echo"),
                           &o, err),
                     POOL_OPT_RUN);
    assert_int_equal(o.workers, 3);
    assert_string_equal(o.listen, "unix:/tmp/x.sock");
    assert_int_equal(o.socket_mode, 0600);
    assert_int_equal(o.max_requests, 50);
    assert_int_equal(o.request_timeout_s, 7);
    assert_int_equal(o.backlog, -1); /* not given: the config decides */
}

static void test_options_errors(void **state)
{
    (void)state;
    pool_options o;
    char err[256];
    assert_int_equal(parse(ARGC("--workers", "lots"), ARGV("--workers", "lots"), &o, err),
                     POOL_OPT_USAGE);
    assert_non_null(strstr(err, "--workers"));
    assert_int_equal(parse(ARGC("--workers", "999"), ARGV("--workers", "999"), &o, err),
                     POOL_OPT_USAGE);
    assert_int_equal(parse(ARGC("--bogus"), ARGV("--bogus"), &o, err), POOL_OPT_USAGE);
    assert_non_null(strstr(err, "--bogus"));
    assert_int_equal(parse(ARGC("--listen"), ARGV("--listen"), &o, err), POOL_OPT_USAGE);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(parse(ARGC("--socket-mode", "0999"), ARGV("--socket-mode", "0999"), &o, err),
                     POOL_OPT_USAGE);
    assert_int_equal(parse(ARGC("stray"), ARGV("stray"), &o, err), POOL_OPT_USAGE);
    assert_non_null(strstr(err, "stray"));
}

/* Options override the file and the environment, and the result is validated. */
static void test_options_override_config(void **state)
{
    (void)state;
    char file[] = "/tmp/retrain-opt-XXXXXX";
    int fd = mkstemp(file);
    const char *text = "{\"workers\":2,\"max_requests\":10,\"auth\":{\"disabled\":true}}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    pool_options o;
    char err[CONFIG_ERR_MAX];
    char *argv[] = {"retrain-fcgi", "--config",       file, "--workers", "5",
                    "--listen",     "127.0.0.1:9999", NULL};
    assert_int_equal(pool_options_parse(7, argv, &o, err, sizeof err), POOL_OPT_RUN);
    config cfg;
    assert_int_equal(pool_config_load(&o, &cfg, err), 0);
    assert_int_equal(cfg.workers, 5);
    assert_int_equal(cfg.max_requests, 10);
    assert_string_equal(cfg.listen, "127.0.0.1:9999");
    config_free(&cfg);

    char *public_argv[] = {"retrain-fcgi", "--config", file, "--listen", "0.0.0.0:9999", NULL};
    assert_int_equal(pool_options_parse(5, public_argv, &o, err, sizeof err), POOL_OPT_RUN);
    assert_int_equal(pool_config_load(&o, &cfg, err), -1);
    assert_non_null(strstr(err, "auth.disabled"));
    unlink(file);
}

static void test_glue_params(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    char *envp[] = {"REQUEST_METHOD=POST",
                    "DOCUMENT_URI=/",
                    "REQUEST_URI=/?x=1",
                    "QUERY_STRING=x=1",
                    "CONTENT_TYPE=application/json",
                    "CONTENT_LENGTH=12",
                    "HTTP_CE_SPECVERSION=1.0",
                    "HTTP_AUTHORIZATION=Bearer abc",
                    "HTTP_X_CLOUD_TRACE_CONTEXT=abc/1",
                    "HTTP_EMPTY=",
                    "REMOTE_ADDR=127.0.0.1",
                    "SERVER_PORT=8443",
                    NULL};
    http_request req;
    assert_int_equal(glue_request_from_params(envp, a, &req), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/");
    assert_string_equal(req.query, "x=1");
    assert_string_equal(req.remote_addr, "127.0.0.1");
    assert_string_equal(http_header_get(&req, "ce-specversion"), "1.0");
    assert_string_equal(http_header_get(&req, "Authorization"), "Bearer abc");
    assert_string_equal(http_header_get(&req, "x-cloud-trace-context"), "abc/1");
    assert_string_equal(http_header_get(&req, "content-type"), "application/json");
    assert_null(http_header_get(&req, "empty"));       /* empty values are dropped */
    assert_null(http_header_get(&req, "server-port")); /* CGI variables are not headers */
    assert_int_equal(glue_content_length(&req), 12);
    arena_free(a);
}

/* RFC 9110 §5.5: a field value has no leading or trailing optional whitespace (SP, HTAB). nginx
 * trims spaces over HTTP/1.1 but passes HTTP/2 values as sent, so glue trims every header the
 * same way: one event, one ledger key, whatever the protocol. Whitespace inside is kept, and a
 * value that is only whitespace counts as empty (absent). */
static void test_glue_trims_optional_whitespace(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    char *envp[] = {"HTTP_CE_ID=X ",
                    "HTTP_CE_SPECVERSION= \t1.0\t ",
                    "HTTP_CE_SUBJECT=\ta b\t",
                    "HTTP_CE_TYPE= \t ",
                    "CONTENT_TYPE= application/json ",
                    "HTTP_AUTHORIZATION=Bearer abc\t",
                    NULL};
    http_request req;
    assert_int_equal(glue_request_from_params(envp, a, &req), 0);
    assert_string_equal(http_header_get(&req, "ce-id"), "X");
    assert_string_equal(http_header_get(&req, "ce-specversion"), "1.0");
    assert_string_equal(http_header_get(&req, "ce-subject"), "a b");
    assert_null(http_header_get(&req, "ce-type"));
    assert_string_equal(http_header_get(&req, "content-type"), "application/json");
    assert_string_equal(http_header_get(&req, "authorization"), "Bearer abc");
    arena_free(a);
}

static void test_glue_path_and_length(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    char *envp[] = {"REQUEST_URI=/status?pretty", "CONTENT_LENGTH=-4", NULL};
    http_request req;
    assert_int_equal(glue_request_from_params(envp, a, &req), 0);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/status");
    assert_int_equal(glue_content_length(&req), -1);
    char *none[] = {NULL};
    assert_int_equal(glue_request_from_params(none, a, &req), 0);
    assert_string_equal(req.path, "/");
    assert_int_equal(glue_content_length(&req), 0);
    arena_free(a);
}

static void test_glue_response_head(void **state)
{
    (void)state;
    arena *a = arena_new(1024);
    http_response resp = {
        .status = 503, .content_type = "application/json", .body = "{}", .body_len = 2};
    http_response_add_header(&resp, "Retry-After", "5");
    http_response_add_header(&resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    size_t len;
    char *head = glue_response_head(&resp, a, &len);
    assert_string_equal(head,
                        "Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        "Content-Length: 2\r\nRetry-After: 5\r\n"
                        "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n\r\n");
    assert_int_equal(len, strlen(head));
    arena_free(a);
}

static void test_listener_unix(void **state)
{
    (void)state;
    char dir[] = "/tmp/retrain-listen-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char listen[160], path[128], err[256];
    snprintf(path, sizeof path, "%s/s.sock", dir);
    snprintf(listen, sizeof listen, "unix:%s", path);
    int fd = listener_open(listen, NULL, 0640, 16, err, sizeof err);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0640);
    /* A second pool on the same live socket is refused, not allowed to steal it. */
    assert_int_equal(listener_open(listen, NULL, 0640, 16, err, sizeof err), -1);
    assert_non_null(strstr(err, "in use"));
    close(fd);
    /* A stale socket file (nobody listening) is replaced. */
    fd = listener_open(listen, NULL, 0660, 16, err, sizeof err);
    assert_true(fd >= 0);
    close(fd);
    listener_unlink(listen);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(listener_open(listen, "no-such-group-here", 0660, 16, err, sizeof err), -1);
    assert_non_null(strstr(err, "no-such-group-here"));
    rmdir(dir);
}

static void test_listener_tcp(void **state)
{
    (void)state;
    char err[256];
    int fd = listener_open("127.0.0.1:0", NULL, 0, 16, err, sizeof err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(listener_open("nohostport", NULL, 0, 16, err, sizeof err), -1);
    assert_non_null(strstr(err, "host:port"));
}

int main(void)
{
    builtins_register(); /* as the binaries do: pool_config_load looks the function up */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_values),
        cmocka_unit_test(test_options_errors),
        cmocka_unit_test(test_options_override_config),
        cmocka_unit_test(test_glue_params),
        cmocka_unit_test(test_glue_trims_optional_whitespace),
        cmocka_unit_test(test_glue_path_and_length),
        cmocka_unit_test(test_glue_response_head),
        cmocka_unit_test(test_listener_unix),
        cmocka_unit_test(test_listener_tcp),
    };
    return cmocka_run_group_tests_name("pool glue", tests, NULL, NULL);
}

/* test_jwks_http — the libcurl fetcher against a small HTTP server on 127.0.0.1 run by a thread
 * of this test (one canned answer per connection, stopped before the test returns): body and
 * Cache-Control max-age, status and size failures, refused URLs, and a jwks handle on top. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jwks.h"
#include "log.h"
#include "support/jwt_mint.h"

typedef struct {
    int listen_fd, port;
    const char *head; /* status line and headers, without the blank line */
    const char *body;
    size_t body_len;
    int connections; /* how many to serve before the thread ends */
    int served;
    pthread_t thread;
} server;

static void *serve(void *arg)
{
    server *s = arg;
    while (s->served < s->connections) {
        struct pollfd p = {s->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) /* never hang the test */
            break;
        int c = accept(s->listen_fd, NULL, NULL);
        if (c < 0)
            break;
        char req[4096];
        size_t n = 0;
        ssize_t r;
        while (n < sizeof req - 1 && (r = recv(c, req + n, sizeof req - 1 - n, 0)) > 0) {
            n += (size_t)r;
            req[n] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        char head[1024];
        int hn =
            snprintf(head, sizeof head, "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     s->head, s->body_len);
        send(c, head, (size_t)hn, MSG_NOSIGNAL);
        for (size_t off = 0; off < s->body_len;) {
            ssize_t w = send(c, s->body + off, s->body_len - off, MSG_NOSIGNAL);
            if (w <= 0)
                break; /* the client gave up (size cap): fine */
            off += (size_t)w;
        }
        close(c);
        s->served++;
    }
    return NULL;
}

static void server_start(server *s, const char *head, const char *body, size_t body_len,
                         int connections)
{
    *s = (server){.head = head, .body = body, .body_len = body_len, .connections = connections};
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listen_fd, 8), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static char *url_of(const server *s, const char *host)
{
    char *u;
    assert_true(asprintf(&u, "http://%s:%d/oauth2/v3/certs", host, s->port) > 0);
    return u;
}

static EVP_PKEY *key;
static char *set;

static int setup(void **state)
{
    (void)state;
    log_init("test_jwks_http", LOG_CRITICAL);
    key = mint_rsa_key(2048);
    const char *kids[] = {"k1"};
    set = mint_jwks(&key, kids, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key);
    free(set);
    return 0;
}

static void fetches_body_and_max_age(void **state)
{
    (void)state;
    server s;
    server_start(&s,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "cache-control: public, max-age=19008, must-revalidate, no-transform",
                 set, strlen(set), 1);
    char *url = url_of(&s, "127.0.0.1"), err[256] = "";
    jwks_body b;
    assert_int_equal(jwks_fetch_http(NULL, url, &b, err, sizeof err), 0);
    assert_int_equal(b.len, strlen(set));
    assert_memory_equal(b.body, set, b.len);
    assert_int_equal(b.max_age_s, 19008);
    free(b.body);
    free(url);
    server_stop(&s);
}

static void no_cache_control(void **state)
{
    (void)state;
    server s;
    server_start(&s, "HTTP/1.1 200 OK", set, strlen(set), 2);
    char *url = url_of(&s, "localhost"), err[256] = "";
    jwks_body b;
    assert_int_equal(jwks_fetch_http(NULL, url, &b, err, sizeof err), 0);
    assert_int_equal(b.max_age_s, -1);
    free(b.body);
    free(url);
    server_stop(&s);
}

static void no_store_means_zero(void **state)
{
    (void)state;
    server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nCache-Control: no-store", set, strlen(set), 1);
    char *url = url_of(&s, "127.0.0.1"), err[256] = "";
    jwks_body b;
    assert_int_equal(jwks_fetch_http(NULL, url, &b, err, sizeof err), 0);
    assert_int_equal(b.max_age_s, 0);
    free(b.body);
    free(url);
    server_stop(&s);
}

static void http_error_status(void **state)
{
    (void)state;
    server s;
    server_start(&s, "HTTP/1.1 503 Service Unavailable", "down", 4, 1);
    char *url = url_of(&s, "127.0.0.1"), err[256] = "";
    jwks_body b = {NULL, 0, 0};
    assert_int_equal(jwks_fetch_http(NULL, url, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "503"));
    assert_null(b.body);
    free(url);
    server_stop(&s);
}

static void oversized_body_refused(void **state)
{
    (void)state;
    size_t n = JWKS_MAX_BODY + 4096;
    char *big = malloc(n);
    memset(big, ' ', n);
    server s;
    server_start(&s, "HTTP/1.1 200 OK", big, n, 1);
    char *url = url_of(&s, "127.0.0.1"), err[256] = "";
    jwks_body b;
    assert_int_equal(jwks_fetch_http(NULL, url, &b, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    free(url);
    server_stop(&s);
    free(big);
}

static void connection_refused(void **state)
{
    (void)state;
    server s;
    server_start(&s, "HTTP/1.1 200 OK", set, strlen(set), 0); /* serves nobody */
    char *url = url_of(&s, "127.0.0.1"), err[256] = "";
    server_stop(&s); /* the port is closed now */
    jwks_body b;
    assert_int_equal(jwks_fetch_http(NULL, url, &b, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    free(url);
}

static void refused_urls(void **state)
{
    (void)state;
    char err[256];
    jwks_body b;
    const char *urls[] = {"http://www.googleapis.com/oauth2/v3/certs", "http://10.0.0.1/certs",
                          "ftp://127.0.0.1/x", "file:///etc/passwd", "not a url"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        err[0] = '\0';
        assert_int_equal(jwks_fetch_http(NULL, urls[i], &b, err, sizeof err), -1);
        assert_non_null(strstr(err, "https"));
    }
}

static void jwks_handle_over_http(void **state)
{
    (void)state;
    server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nCache-Control: max-age=600", set, strlen(set), 1);
    char *url = url_of(&s, "127.0.0.1");
    jwks_options o;
    jwks_options_default(&o); /* the real fetcher */
    o.url = url;
    jwks *j = jwks_new(&o);
    EVP_PKEY *k = NULL;
    assert_int_equal(jwks_key_for_kid(j, "k1", 1000, &k), JWKS_OK);
    assert_int_equal(EVP_PKEY_eq(k, key), 1);
    assert_int_equal(jwks_key_for_kid(j, "k1", 1500, &k), JWKS_OK); /* cached: no request */
    server_stop(&s);
    assert_int_equal(s.served, 1);
    jwks_free(j);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fetches_body_and_max_age),
        cmocka_unit_test(no_cache_control),
        cmocka_unit_test(no_store_means_zero),
        cmocka_unit_test(http_error_status),
        cmocka_unit_test(oversized_body_refused),
        cmocka_unit_test(connection_refused),
        cmocka_unit_test(refused_urls),
        cmocka_unit_test(jwks_handle_over_http),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

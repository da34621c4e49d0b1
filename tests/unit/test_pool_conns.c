/* Unit tests for the master's side of the connection table (fcgi/conns.c, fcgi/conntab.h,
 * fcgi/fdpass.c), with no worker processes: two "workers" are the far ends of socketpairs
 * whose claims and scoreboard states the test sets, and the clients are plain connections to a
 * listening unix socket. Asserted: a new connection goes to an idle worker, reserved for it; a
 * request arriving on a busy worker's idle connection moves it to the idle worker, and not
 * while its owner serves it; a dead worker's connection mid-request is shut down (its client
 * sees the close) and its idle one goes to the other worker; on stop, a connection no worker
 * holds is shut down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conns.h"
#include "fdpass.h"

typedef struct {
    char dir[64], path[128];
    ctab *t;
    scoreboard *sb;
    conns *c;
    int worker[2]; /* the workers' ends of their channels */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_pool_conns.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/s.sock", f->dir);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, f->path);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 16), 0);
    f->t = ctab_create();
    f->sb = scoreboard_create(2);
    assert_non_null(f->t);
    assert_non_null(f->sb);
    f->c = conns_new(l, f->t, f->sb);
    for (int s = 0; s < 2; s++) {
        int pair[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        conns_worker_started(f->c, s, pair[0]);
        f->worker[s] = pair[1];
        atomic_store(&f->sb->slots[s].state, SB_IDLE);
        atomic_store(&f->sb->slots[s].generation, 1);
    }
    atomic_store(&f->sb->generation, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    conns_free(f->c);
    for (int s = 0; s < 2; s++)
        if (f->worker[s] >= 0)
            close(f->worker[s]);
    ctab_destroy(f->t);
    scoreboard_destroy(f->sb);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int client(fixture *f)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, f->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* One turn of the master's loop, without the signals: watch, poll briefly, act, tidy. */
static void turn(fixture *f)
{
    struct pollfd p[CONNS_POLL_MAX];
    int timeout = 50;
    int n = conns_watch(f->c, p, &timeout);
    if (n > 0 && poll(p, (nfds_t)n, timeout) > 0)
        conns_ready(f->c, p, n);
    conns_tick(f->c);
}

/* The message waiting for worker S (its descriptor closed), or id -1 when none. */
static fdpass_msg received(fixture *f, int s)
{
    fdpass_msg m = {.id = (uint32_t)-1};
    int fd = -1;
    if (fdpass_recv(f->worker[s], &m, &fd) != 1)
        m.id = (uint32_t)-1;
    if (fd >= 0)
        close(fd);
    return m;
}

static void set_claim(fixture *f, int s, ct_claim c)
{
    ct_claim_set(f->t, s, c);
}

/* Connects a client and lets the master give it out; returns the client, *ID its entry. */
static int connect_one(fixture *f, int *id, int *to)
{
    int fd = client(f);
    turn(f);
    for (int s = 0; s < 2; s++) {
        fdpass_msg m = received(f, s);
        if (m.id != (uint32_t)-1) {
            *id = (int)m.id;
            *to = s;
            return fd;
        }
    }
    fail_msg("no worker got the connection");
    return -1;
}

static void test_new_connection_goes_to_an_idle_worker_reserved(void **state)
{
    fixture *f = *state;
    set_claim(f, 0, CLAIM_BUSY);
    set_claim(f, 1, CLAIM_IDLE);
    int fd = client(f);
    turn(f);
    fdpass_msg m = received(f, 1);
    assert_int_not_equal(m.id, (uint32_t)-1);
    assert_int_equal(m.reserved, 1);
    assert_int_equal(ct_claim_of(f->t, 1), CLAIM_RESERVED);
    assert_int_equal(received(f, 0).id, (uint32_t)-1);
    uint64_t w = ct_load(f->t, (int)m.id);
    assert_int_equal(ct_state_of(w), CT_OWNED);
    assert_int_equal(ct_slot(w), 1);
    assert_int_equal(ct_gen(w), m.gen);
    close(fd);
}

static void test_all_busy_goes_to_the_least_loaded_unreserved(void **state)
{
    fixture *f = *state;
    set_claim(f, 0, CLAIM_BUSY);
    set_claim(f, 1, CLAIM_BUSY);
    int id, to;
    int fd = connect_one(f, &id, &to);
    int fd2 = client(f);
    turn(f);
    fdpass_msg m = received(f, 1 - to);
    assert_int_not_equal(m.id, (uint32_t)-1); /* the other one, holding fewer */
    assert_int_equal(m.reserved, 0);
    assert_int_equal(ct_claim_of(f->t, 1 - to), CLAIM_BUSY);
    close(fd);
    close(fd2);
}

static void test_request_on_a_busy_workers_idle_connection_moves(void **state)
{
    fixture *f = *state;
    set_claim(f, 0, CLAIM_IDLE);
    set_claim(f, 1, CLAIM_OFF); /* not taking: the connection goes to 0 */
    int id, to;
    int fd = connect_one(f, &id, &to);
    assert_int_equal(to, 0);
    set_claim(f, 0, CLAIM_BUSY); /* busy with another request */
    set_claim(f, 1, CLAIM_IDLE);
    turn(f);
    assert_int_equal(ct_slot(ct_load(f->t, id)), 0); /* nothing sent on it yet: it stays */
    assert_int_equal(write(fd, "x", 1), 1);
    turn(f);
    fdpass_msg m = received(f, 1);
    assert_int_equal(m.id, (uint32_t)id);
    assert_int_equal(m.reserved, 1);
    assert_int_equal(ct_slot(ct_load(f->t, id)), 1);
    assert_int_equal(ct_state_of(ct_load(f->t, id)), CT_OWNED);
    close(fd);
}

static void test_a_connection_being_served_never_moves(void **state)
{
    fixture *f = *state;
    set_claim(f, 1, CLAIM_OFF);
    set_claim(f, 0, CLAIM_IDLE);
    int id, to;
    int fd = connect_one(f, &id, &to);
    uint64_t w = ct_load(f->t, id);
    ct_store(f->t, id, ct_word(ct_gen(w), CT_SERVING, 0)); /* worker 0 reads a request on it */
    set_claim(f, 0, CLAIM_BUSY);
    set_claim(f, 1, CLAIM_IDLE);
    assert_int_equal(write(fd, "x", 1), 1);
    turn(f);
    assert_int_equal(received(f, 1).id, (uint32_t)-1);
    assert_int_equal(ct_state_of(ct_load(f->t, id)), CT_SERVING);
    assert_int_equal(ct_claim_of(f->t, 1), CLAIM_IDLE); /* not left reserved */
    close(fd);
}

static void test_dead_worker_mid_request_shut_idle_given_on(void **state)
{
    fixture *f = *state;
    set_claim(f, 1, CLAIM_OFF);
    set_claim(f, 0, CLAIM_IDLE);
    int a, b, to;
    int fa = connect_one(f, &a, &to);
    set_claim(f, 0, CLAIM_IDLE);
    int fb = connect_one(f, &b, &to);
    assert_int_equal(to, 0);
    uint64_t w = ct_load(f->t, a);
    ct_store(f->t, a, ct_word(ct_gen(w), CT_SERVING, 0)); /* mid-request on a, b idle */
    close(f->worker[0]);
    f->worker[0] = -1;
    conns_worker_gone(f->c, 0);
    atomic_store(&f->sb->slots[0].state, SB_EMPTY);
    char buf[4];
    assert_int_equal(read(fa, buf, sizeof buf), 0); /* the client sees the close at once */
    set_claim(f, 1, CLAIM_IDLE);
    turn(f);
    fdpass_msg m = received(f, 1);
    assert_int_equal(m.id, (uint32_t)b); /* the idle one lives on in worker 1 */
    assert_int_equal(ct_slot(ct_load(f->t, b)), 1);
    close(fa);
    close(fb);
}

static void test_stop_shuts_what_no_worker_holds(void **state)
{
    fixture *f = *state;
    set_claim(f, 0, CLAIM_IDLE);
    set_claim(f, 1, CLAIM_OFF);
    int id, to;
    int fd = connect_one(f, &id, &to);
    uint64_t w = ct_load(f->t, id);
    ct_store(f->t, id, ct_word(ct_gen(w), CT_FREE, 0)); /* handed back by a retiring worker */
    conns_stop(f->c);
    assert_int_equal(atomic_load(&f->t->stopping), 1);
    turn(f);
    char buf[4];
    assert_int_equal(read(fd, buf, sizeof buf), 0);
    assert_int_equal(ct_state_of(ct_load(f->t, id)), CT_UNUSED);
    close(fd);
}

static void test_fdpass_round_trip(void **state)
{
    (void)state;
    int pair[2], pipefd[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
    assert_int_equal(pipe(pipefd), 0);
    fdpass_msg m = {.id = 7, .gen = 9, .reserved = 1}, got;
    int fd = -1;
    assert_int_equal(fdpass_recv(pair[1], &got, &fd), 0); /* nothing waiting */
    assert_int_equal(fdpass_send(pair[0], &m, pipefd[1]), 0);
    assert_int_equal(fdpass_recv(pair[1], &got, &fd), 1);
    assert_int_equal(got.id, 7);
    assert_int_equal(got.gen, 9);
    assert_int_equal(got.reserved, 1);
    assert_int_equal(write(fd, "z", 1), 1); /* a copy of the same pipe */
    char c = 0;
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(c, 'z');
    close(fd);
    close(pair[0]);
    assert_int_equal(fdpass_recv(pair[1], &got, &fd), -1); /* the master is gone */
    close(pair[1]);
    close(pipefd[0]);
    close(pipefd[1]);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_new_connection_goes_to_an_idle_worker_reserved),
        T(test_all_busy_goes_to_the_least_loaded_unreserved),
        T(test_request_on_a_busy_workers_idle_connection_moves),
        T(test_a_connection_being_served_never_moves),
        T(test_dead_worker_mid_request_shut_idle_given_on),
        T(test_stop_shuts_what_no_worker_holds),
        cmocka_unit_test(test_fdpass_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

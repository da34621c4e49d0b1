/* The inbox watcher of `gcp-emulator send` (tests/emulator/sender_watch.c) on a real temporary
 * tree: which names become objects, the settle clock (driven by the caller's time, so no
 * sleeping), a rewrite as a new generation, a vanished file forgotten, polling and inotify
 * alike. Compiled in directly: the emulator is not in libretrain.a. */
#include "../emulator/sender_watch.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

typedef struct {
    char root[64];
    snd_watch w;
} fixture;

static void put(const fixture *fx, const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", fx->root, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void dir(const fixture *fx, const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", fx->root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

/* Moves REL's mtime by SECONDS, as a rewrite within the same second would not reliably do. */
static void touch_later(const fixture *fx, const char *rel, int seconds)
{
    char path[PATH_MAX];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", fx->root, rel);
    assert_int_equal(stat(path, &sb), 0);
    struct timespec t[2] = {sb.st_atim, sb.st_mtim};
    t[1].tv_sec += seconds;
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static snd_file *find(fixture *fx, const char *name)
{
    for (size_t i = 0; i < fx->w.n_files; i++)
        if (strcmp(fx->w.files[i].name, name) == 0)
            return &fx->w.files[i];
    return NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->root, sizeof fx->root, "/tmp/test-sender-watch-XXXXXX");
    if (!mkdtemp(fx->root)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    snd_watch_close(&fx->w);
    nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void test_is_partial(void **state)
{
    (void)state;
    assert_false(snd_is_partial("a.csv"));
    assert_false(snd_is_partial("partial.csv"));
    assert_false(snd_is_partial("tmp"));
    assert_true(snd_is_partial("."));
    assert_true(snd_is_partial(".."));
    assert_true(snd_is_partial(".a.csv.swp"));
    assert_true(snd_is_partial(".git"));
    assert_true(snd_is_partial("a.csv~"));
    assert_true(snd_is_partial("a.csv.part"));
    assert_true(snd_is_partial("a.csv.partial"));
    assert_true(snd_is_partial("a.csv.tmp"));
    assert_true(snd_is_partial("big.csv.crdownload"));
    assert_true(snd_is_partial("big.csv.download"));
    assert_false(snd_is_partial("part")); /* a name, not a suffix */
}

/* Regular files anywhere below, named by their path; dotfiles, dot-directories, partial names,
 * symbolic links and FIFOs are not objects. */
static void test_scan_names(void **state)
{
    fixture *fx = *state;
    put(fx, "top.csv", "1");
    dir(fx, "datasets");
    dir(fx, "datasets/churn");
    put(fx, "datasets/churn/a.csv", "id\n1\n");
    put(fx, "datasets/churn/.a.csv.swp", "x");
    put(fx, "datasets/churn/b.csv.part", "x");
    dir(fx, ".git");
    put(fx, ".git/HEAD", "x");
    char path[PATH_MAX], link[PATH_MAX];
    snprintf(path, sizeof path, "%s/top.csv", fx->root);
    snprintf(link, sizeof link, "%s/link.csv", fx->root);
    assert_int_equal(symlink(path, link), 0);
    snprintf(path, sizeof path, "%s/fifo", fx->root);
    assert_int_equal(mkfifo(path, 0600), 0);

    snd_watch_open(&fx->w, fx->root, true);
    assert_int_equal(fx->w.inotify_fd, -1);
    snd_watch_scan(&fx->w, 1000);
    assert_int_equal(fx->w.n_files, 2);
    assert_non_null(find(fx, "top.csv"));
    snd_file *a = find(fx, "datasets/churn/a.csv");
    assert_non_null(a);
    assert_int_equal(a->size, 5);
    assert_int_equal(a->stable_since_ms, 1000);
}

/* A file waits for the settle time after its last change, is ready once, and after it is marked
 * sent stays sent until it changes again; a change restarts its clock. */
static void test_settle_and_generations(void **state)
{
    fixture *fx = *state;
    put(fx, "a.csv", "id\n");
    snd_watch_open(&fx->w, fx->root, true);
    snd_watch_scan(&fx->w, 1000);
    snd_file *a = find(fx, "a.csv");
    assert_non_null(a);
    assert_int_equal(snd_watch_state(&fx->w, a, 1000, 500), SND_FILE_SETTLING);
    assert_int_equal(snd_watch_state(&fx->w, a, 1499, 500), SND_FILE_SETTLING);

    /* Still growing: the next scan sees a new size and restarts the clock. */
    put(fx, "a.csv", "id\n1\n2\n");
    snd_watch_scan(&fx->w, 1400);
    a = find(fx, "a.csv");
    assert_int_equal(a->size, 7);
    assert_int_equal(a->stable_since_ms, 1400);
    assert_int_equal(snd_watch_state(&fx->w, a, 1600, 500), SND_FILE_SETTLING);

    snd_watch_scan(&fx->w, 1900);
    a = find(fx, "a.csv");
    assert_int_equal(a->stable_since_ms, 1400); /* unchanged since */
    assert_int_equal(snd_watch_state(&fx->w, a, 1900, 500), SND_FILE_READY);
    int64_t generation = a->mtime_us;
    snd_watch_mark_sent(a);
    assert_int_equal(snd_watch_state(&fx->w, a, 5000, 500), SND_FILE_SENT);
    snd_watch_scan(&fx->w, 6000);
    assert_int_equal(snd_watch_state(&fx->w, find(fx, "a.csv"), 6000, 500), SND_FILE_SENT);

    /* The same size, a new mtime: a new generation. */
    put(fx, "a.csv", "id\n3\n4\n");
    touch_later(fx, "a.csv", 5);
    snd_watch_scan(&fx->w, 7000);
    a = find(fx, "a.csv");
    assert_int_equal(a->size, 7);
    assert_true(a->mtime_us > generation);
    assert_int_equal(snd_watch_state(&fx->w, a, 7000, 500), SND_FILE_SETTLING);
    assert_int_equal(snd_watch_state(&fx->w, a, 7500, 500), SND_FILE_READY);
}

/* A file that changed after the scan is not ready, whatever the clock says. */
static void test_changed_under_us(void **state)
{
    fixture *fx = *state;
    put(fx, "a.csv", "id\n");
    snd_watch_open(&fx->w, fx->root, true);
    snd_watch_scan(&fx->w, 0);
    put(fx, "a.csv", "id\n1\n");
    assert_int_equal(snd_watch_state(&fx->w, find(fx, "a.csv"), 10000, 500), SND_FILE_SETTLING);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/a.csv", fx->root);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(snd_watch_state(&fx->w, find(fx, "a.csv"), 10000, 500), SND_FILE_SETTLING);
}

/* A vanished file is forgotten: put back, it is new (and sent again). */
static void test_vanished_forgotten(void **state)
{
    fixture *fx = *state;
    put(fx, "a.csv", "1");
    put(fx, "b.csv", "2");
    snd_watch_open(&fx->w, fx->root, true);
    snd_watch_scan(&fx->w, 0);
    snd_watch_mark_sent(find(fx, "a.csv"));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/a.csv", fx->root);
    assert_int_equal(unlink(path), 0);
    snd_watch_scan(&fx->w, 100);
    assert_int_equal(fx->w.n_files, 1);
    assert_null(find(fx, "a.csv"));
    assert_non_null(find(fx, "b.csv"));
    put(fx, "a.csv", "1");
    snd_watch_scan(&fx->w, 200);
    assert_int_equal(snd_watch_state(&fx->w, find(fx, "a.csv"), 1000, 500), SND_FILE_READY);
}

/* With inotify, a write wakes the wait early, in a directory made after the first scan too. */
static void test_inotify_wakes(void **state)
{
    fixture *fx = *state;
    snd_watch_open(&fx->w, fx->root, false);
    if (fx->w.inotify_fd < 0)
        skip(); /* no inotify here: the polling tests cover the rest */
    snd_watch_scan(&fx->w, 0);
    dir(fx, "new");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snd_watch_wait(&fx->w, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 4);
    snd_watch_scan(&fx->w, 100); /* watches new/ */
    put(fx, "new/x.csv", "x");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snd_watch_wait(&fx->w, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 4);
    snd_watch_scan(&fx->w, 200);
    assert_non_null(find(fx, "new/x.csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_partial),
        cmocka_unit_test_setup_teardown(test_scan_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_and_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_under_us, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanished_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inotify_wakes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

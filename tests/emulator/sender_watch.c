/* sender_watch — see sender_watch.h.
 *
 * The file table is a plain array searched linearly: an inbox is dropped into by hand, not by
 * the thousand, and a rescan of a few hundred entries costs less than the stat calls. */
#include "sender_watch.h"

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SND_MAX_DEPTH 16

bool snd_is_partial(const char *base)
{
    static const char *const suffixes[] = {"~",    ".part",       ".partial", ".tmp",
                                           ".swp", ".crdownload", ".download"};
    if (base[0] == '.')
        return true;
    size_t n = strlen(base);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(base + n - k, suffixes[i]) == 0)
            return true;
    }
    return false;
}

void snd_watch_open(snd_watch *w, const char *inbox, bool poll_only)
{
    *w = (snd_watch){.inbox = inbox, .inotify_fd = -1};
    if (!poll_only)
        w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

static int64_t mtime_us_of(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000 + sb->st_mtim.tv_nsec / 1000;
}

static snd_file *file_find(snd_watch *w, const char *name)
{
    for (size_t i = 0; i < w->n_files; i++)
        if (strcmp(w->files[i].name, name) == 0)
            return &w->files[i];
    if (w->n_files == w->cap_files) {
        size_t cap = w->cap_files ? w->cap_files * 2 : 64;
        snd_file *nf = realloc(w->files, cap * sizeof *nf);
        if (!nf)
            return NULL;
        w->files = nf;
        w->cap_files = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return NULL;
    snd_file *f = &w->files[w->n_files++];
    *f = (snd_file){.name = copy, .size = -1, .mtime_us = -1, .sent_size = -1, .sent_mtime_us = -1};
    return f;
}

static void observe(snd_watch *w, const char *name, const struct stat *sb, int64_t now)
{
    snd_file *f = file_find(w, name);
    if (!f)
        return; /* out of memory: the next scan tries again */
    f->present = true;
    if (f->size != (int64_t)sb->st_size || f->mtime_us != mtime_us_of(sb)) {
        f->size = (int64_t)sb->st_size;
        f->mtime_us = mtime_us_of(sb);
        f->stable_since_ms = now;
    }
}

/* Walks DIR (REL is its path under the inbox, "" at the top), watching each directory: adding
 * a watch twice is harmless, so directories made since the last scan are picked up here. */
static void scan_dir(snd_watch *w, const char *dir, const char *rel, int depth, int64_t now)
{
    if (depth > SND_MAX_DEPTH)
        return;
    if (w->inotify_fd >= 0)
        inotify_add_watch(w->inotify_fd, dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ATTRIB |
                              IN_DELETE | IN_ONLYDIR);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (snd_is_partial(de->d_name))
            continue;
        char path[PATH_MAX], name[PATH_MAX];
        int a = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int b = snprintf(name, sizeof name, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        if (a < 0 || b < 0 || (size_t)a >= sizeof path || (size_t)b >= sizeof name)
            continue;
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            scan_dir(w, path, name, depth + 1, now);
        else if (S_ISREG(sb.st_mode))
            observe(w, name, &sb, now);
    }
    closedir(d);
}

void snd_watch_scan(snd_watch *w, int64_t now_ms)
{
    for (size_t i = 0; i < w->n_files; i++)
        w->files[i].present = false;
    scan_dir(w, w->inbox, "", 0, now_ms);
    size_t kept = 0;
    for (size_t i = 0; i < w->n_files; i++) {
        if (w->files[i].present)
            w->files[kept++] = w->files[i];
        else
            free(w->files[i].name);
    }
    w->n_files = kept;
}

snd_file_state snd_watch_state(const snd_watch *w, snd_file *f, int64_t now_ms, int64_t settle_ms)
{
    if (f->size == f->sent_size && f->mtime_us == f->sent_mtime_us)
        return SND_FILE_SENT;
    if (now_ms - f->stable_since_ms < settle_ms)
        return SND_FILE_SETTLING;
    char path[PATH_MAX];
    struct stat sb;
    int n = snprintf(path, sizeof path, "%s/%s", w->inbox, f->name);
    if (n < 0 || (size_t)n >= sizeof path || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        (int64_t)sb.st_size != f->size || mtime_us_of(&sb) != f->mtime_us)
        return SND_FILE_SETTLING; /* the next scan restarts its clock, or forgets it */
    return SND_FILE_READY;
}

void snd_watch_mark_sent(snd_file *f)
{
    f->sent_size = f->size;
    f->sent_mtime_us = f->mtime_us;
}

void snd_watch_wait(snd_watch *w, int timeout_ms)
{
    if (w->inotify_fd < 0) {
        struct timespec ts = {.tv_sec = timeout_ms / 1000,
                              .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    struct pollfd p = {.fd = w->inotify_fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(w->inotify_fd, buf, sizeof buf) > 0) {
    }
    /* Let a burst of writes (a copy, an editor's save) land in one scan. */
    struct timespec burst = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
    nanosleep(&burst, NULL);
}

void snd_watch_close(snd_watch *w)
{
    for (size_t i = 0; i < w->n_files; i++)
        free(w->files[i].name);
    free(w->files);
    if (w->inotify_fd >= 0)
        close(w->inotify_fd);
    *w = (snd_watch){.inotify_fd = -1};
}

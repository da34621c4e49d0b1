/* sender_watch — the inbox watcher of `gcp-emulator send` (see sender.h).
 *
 * A scan of the inbox's tree that inotify (when available) wakes early. Each scan stats every
 * regular file — dotfiles, dot-directories, symbolic links and editors' or downloaders' partial
 * names skipped — and records its size and mtime; a file is ready once neither has moved for the
 * settle time and they differ from what was last sent. So a slow copy is sent once, whole; a
 * rewrite is a new generation; a missed inotify event (or none at all) only costs the next scan.
 *
 * Ownership: the watch owns its file table and each name in it; snd_watch_close frees them. The
 * inbox path is borrowed and must outlive the watch. Times are the caller's monotonic
 * milliseconds, so the settle logic is tested without sleeping. */
#ifndef EMU_SENDER_WATCH_H
#define EMU_SENDER_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One regular file under the inbox. */
typedef struct {
    char *name;                       /* path under the inbox, '/'-separated: the object name */
    int64_t size, mtime_us;           /* as last observed */
    int64_t stable_since_ms;          /* when size or mtime last changed */
    int64_t sent_size, sent_mtime_us; /* the generation last handed out (-1: none) */
    bool present;                     /* seen by the latest scan */
} snd_file;

typedef struct {
    const char *inbox;
    snd_file *files;
    size_t n_files, cap_files;
    int inotify_fd; /* -1: polling only */
} snd_watch;

typedef enum {
    SND_FILE_SENT,     /* this generation was handed out already */
    SND_FILE_SETTLING, /* changed less than the settle time ago, or changed under us */
    SND_FILE_READY,    /* settled and not yet sent: deliver it, then snd_watch_mark_sent */
} snd_file_state;

/* True for a name a writer has not finished or that is not data: a leading dot (".", "..",
 * rsync's and vim's temporaries), or a trailing "~", ".part", ".partial", ".tmp", ".swp",
 * ".crdownload", ".download". */
bool snd_is_partial(const char *base);

/* Starts watching INBOX: with inotify unless POLL_ONLY (or inotify is unavailable; then
 * inotify_fd is -1). Never fails: polling always works. */
void snd_watch_open(snd_watch *w, const char *inbox, bool poll_only);

/* Rescans the tree at time NOW: new files are added, changed ones restart their settle clock,
 * vanished ones are forgotten (a file put back later is new). */
void snd_watch_scan(snd_watch *w, int64_t now_ms);

/* Where F stands at NOW. READY is confirmed by one more lstat, so a file still growing between
 * the scan and the delivery waits for the next scan. */
snd_file_state snd_watch_state(const snd_watch *w, snd_file *f, int64_t now_ms, int64_t settle_ms);

/* Records F's current generation as handed out, whatever became of the delivery. */
void snd_watch_mark_sent(snd_file *f);

/* Waits up to TIMEOUT_MS for the tree to change (inotify), or sleeps that long (polling).
 * Returns early on a signal. */
void snd_watch_wait(snd_watch *w, int timeout_ms);

void snd_watch_close(snd_watch *w);

#endif

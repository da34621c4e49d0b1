/* listener — the pool's one listening socket, shared by every worker.
 *
 * "unix:/path": a stale socket file is replaced only when nothing answers on it (a second pool
 * on the same path fails instead of stealing it); the file gets MODE and, when GROUP is given,
 * that group, so nginx's unprivileged workers can connect. "host:port": TCP with SO_REUSEADDR.
 * The socket is non-blocking: the master alone accepts on it (conns.h). */
#ifndef POOL_LISTENER_H
#define POOL_LISTENER_H

#include <stddef.h>

/* Returns the listening fd, or -1 with ERR. */
int listener_open(const char *listen, const char *group, int mode, int backlog, char *err,
                  size_t errlen);

/* Removes the unix socket file (no-op for TCP), so no new connection can arrive. */
void listener_unlink(const char *listen);

#endif

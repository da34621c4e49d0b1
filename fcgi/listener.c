/* listener — see listener.h. */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_in_use(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int in_use = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
    close(fd);
    return in_use;
}

static int open_unix(const char *path, const char *group, int mode, int backlog, char *err,
                     size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "listen: socket path is longer than %zu bytes",
                 sizeof sa.sun_path - 1);
        return -1;
    }
    strcpy(sa.sun_path, path);
    gid_t gid = (gid_t)-1;
    if (group) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            snprintf(err, errlen, "socket_group: no group named \"%.64s\"", group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "listen: %s exists and is not a socket", path);
            return -1;
        }
        if (unix_in_use(&sa)) {
            snprintf(err, errlen, "listen: %s is in use by another process", path);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* Bind under a restrictive umask so the file is never briefly open to everyone. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0 || chmod(path, (mode_t)mode) != 0 ||
        (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) || listen(fd, backlog) != 0) {
        snprintf(err, errlen, "listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int open_tcp(const char *hostport, int backlog, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    size_t n = colon ? (size_t)(colon - hostport) : 0;
    if (!colon || n == 0 || n >= sizeof host) {
        snprintf(err, errlen, "listen: \"%.80s\" is not host:port", hostport);
        return -1;
    }
    memcpy(host, hostport, n);
    host[n] = '\0';
    if (host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "listen: %s: %s", hostport, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        snprintf(err, errlen, "listen on %s: %s", hostport, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int listener_open(const char *listen, const char *group, int mode, int backlog, char *err,
                  size_t errlen)
{
    if (strncmp(listen, "unix:", 5) == 0)
        return open_unix(listen + 5, group, mode, backlog, err, errlen);
    return open_tcp(listen, backlog, err, errlen);
}

void listener_unlink(const char *listen)
{
    if (strncmp(listen, "unix:", 5) == 0)
        unlink(listen + 5);
}

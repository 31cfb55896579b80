/*
 * LD_PRELOAD shim for the durability test: logs, in the order they happen,
 * the writes to an SQLite write-ahead log, the fsync()/fdatasync() calls on
 * it, and the acknowledgements a process gives: an HTTP 2xx answer sent on
 * a socket (the relay), a receipt POSTed to the relay (the sync client),
 * and the end of the program (a command telling its user it is done: the
 * destructor below runs after main() returns, before stdio is flushed).
 * Each acknowledgement line says whether a WAL write was still unsynced
 * then. SIGKILL keeps the page cache, so only this order shows that a
 * power cut could lose what was acknowledged.
 *
 * JIASHU_SYNC_LOG=FILE: where the lines go ("W", "S", "A 0 what" or
 * "A 1 what", 1 meaning a WAL write was unsynced).
 */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS /* pwrite and pwrite64 are two symbols to catch */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -2;
static int unsynced; /* a WAL write not yet followed by a sync of it */

#define EXPORT     __attribute__((visibility("default")))
#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static void say(const char *fmt, ...)
{
    char line[160];
    va_list ap;
    int n;

    if (log_fd == -2) {
        const char *path = getenv("JIASHU_SYNC_LOG");
        log_fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    }
    if (log_fd < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    if (REAL(write)(log_fd, line, (size_t)n) < 0)
        return;
}

static int is_wal(int fd)
{
    char link[64], path[512];
    ssize_t n;

    if (fd < 0 || fd == log_fd)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n < 4)
        return 0;
    path[n] = '\0';
    return strcmp(path + n - 4, "-wal") == 0;
}

static int is_socket(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* What leaves on a socket: an acknowledgement if it is a 2xx answer or a
 * receipt request; its first line goes to the log. */
static void on_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    char first[64];
    size_t n = 0;

    if (len < 12 || !is_socket(fd))
        return;
    if (strncmp(p, "HTTP/1.1 2", 10) && strncmp(p, "POST /v1/messages/", 18))
        return;
    while (n < len && n < sizeof(first) - 1 && p[n] != '\r' && p[n] != '\n') {
        first[n] = p[n];
        n++;
    }
    first[n] = '\0';
    pthread_mutex_lock(&lock);
    say("A %d %s\n", unsynced, first);
    pthread_mutex_unlock(&lock);
}

static void on_write(int fd, const void *data, size_t len)
{
    if (is_wal(fd)) {
        pthread_mutex_lock(&lock);
        unsynced = 1;
        say("W\n");
        pthread_mutex_unlock(&lock);
    } else {
        on_send(fd, data, len);
    }
}

static void on_sync(int fd)
{
    if (!is_wal(fd))
        return;
    pthread_mutex_lock(&lock);
    unsynced = 0;
    say("S\n");
    pthread_mutex_unlock(&lock);
}

__attribute__((destructor)) static void on_exit_(void)
{
    pthread_mutex_lock(&lock);
    say("A %d exit\n", unsynced);
    pthread_mutex_unlock(&lock);
}

EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
    on_write(fd, buf, count);
    return REAL(write)(fd, buf, count);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    on_write(fd, buf, count);
    return REAL(pwrite)(fd, buf, count, offset);
}

/* off64_t: on 32-bit machines (armhf) off_t here is 32 bits. */
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset)
{
    on_write(fd, buf, count);
    return REAL(pwrite64)(fd, buf, count, offset);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    on_send(fd, buf, len);
    return REAL(send)(fd, buf, len, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                      socklen_t tolen)
{
    on_send(fd, buf, len);
    return REAL(sendto)(fd, buf, len, flags, to, tolen);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (msg->msg_iovlen > 0)
        on_send(fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len);
    return REAL(sendmsg)(fd, msg, flags);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (iovcnt > 0)
        on_write(fd, iov[0].iov_base, iov[0].iov_len);
    return REAL(writev)(fd, iov, iovcnt);
}

EXPORT int fsync(int fd)
{
    int res = REAL(fsync)(fd);
    on_sync(fd);
    return res;
}

EXPORT int fdatasync(int fd)
{
    int res = REAL(fdatasync)(fd);
    on_sync(fd);
    return res;
}

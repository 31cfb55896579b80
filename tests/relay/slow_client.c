/*
 * An abusive client for the relay's tests and benchmark: opens many
 * connections from one source address and trickles on each of them.
 *
 *   slow_client SOURCE PORT COUNT MODE INTERVAL_MS SECONDS [TOKEN UPLOAD_PATH ...]
 *
 * MODE "headers": sends a request line, then one header line per interval,
 * never the blank line that ends the header block.
 * MODE "body": for each UPLOAD_PATH (one connection per path, COUNT ignored)
 * sends a whole PATCH header block announcing 2 MiB with TOKEN, then one
 * byte per interval.
 * Runs SECONDS, then prints one line: how many connections were opened,
 * refused (never connected, or closed before a byte was sent), and closed
 * by the relay while trickling, with the median age of those at close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int open;
    double opened_at, closed_after;
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_from(const char *source, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, source, &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons((uint16_t)port);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, 2000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 100);
            continue;
        }
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 when the relay closed (or answered, which here means it gave up). */
static int closed_by_peer(int fd)
{
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN) || n > 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: slow_client SOURCE PORT COUNT headers|body INTERVAL_MS SECONDS "
                        "[TOKEN UPLOAD_PATH...]\n");
        return 2;
    }
    const char *source = argv[1], *mode = argv[4];
    int port = atoi(argv[2]), count = atoi(argv[3]), interval_ms = atoi(argv[5]);
    double seconds = atof(argv[6]);
    int body = strcmp(mode, "body") == 0;
    if (body) {
        if (argc < 9) {
            fprintf(stderr, "slow_client: body mode needs TOKEN and UPLOAD_PATH...\n");
            return 2;
        }
        count = argc - 8;
    }
    signal(SIGPIPE, SIG_IGN);
    /* SIGTERM ends the run early and still prints the line. */
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    struct conn *c = calloc((size_t)count, sizeof *c);
    if (!c)
        return 1;
    int opened = 0, refused = 0, closed = 0;
    double t0 = now_s();
    for (int i = 0; i < count && !stopping; i++) {
        c[i].fd = connect_from(source, port);
        if (c[i].fd < 0) {
            refused++;
            continue;
        }
        char head[1024];
        int n;
        if (body)
            n = snprintf(head, sizeof head,
                         "PATCH %s HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer %s\r\n"
                         "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                         "Content-Type: application/offset+octet-stream\r\n"
                         "Content-Length: 2097152\r\n\r\n",
                         argv[8 + i], argv[7]);
        else
            n = snprintf(head, sizeof head, "GET /v1/inbox HTTP/1.1\r\nHost: relay\r\n");
        if (send_all(c[i].fd, head, (size_t)n) < 0) {
            close(c[i].fd);
            refused++;
            continue;
        }
        c[i].open = 1;
        c[i].opened_at = now_s();
        opened++;
    }
    fprintf(stderr, "slow_client: connected\n"); /* the attack is at full strength */
    /* A connection refused at accept is closed at once: it counts as refused. */
    usleep(200000);
    for (int i = 0; i < count; i++)
        if (c[i].open && closed_by_peer(c[i].fd)) {
            c[i].open = 0;
            close(c[i].fd);
            opened--;
            refused++;
        }
    double *ages = calloc((size_t)count + 1, sizeof *ages);
    while (!stopping && now_s() - t0 < seconds) {
        usleep((useconds_t)interval_ms * 1000);
        if (stopping)
            break;
        for (int i = 0; i < count; i++) {
            if (!c[i].open)
                continue;
            const char *line = body ? "x" : "X-Trickle: 1\r\n";
            if (closed_by_peer(c[i].fd) || send_all(c[i].fd, line, strlen(line)) < 0) {
                c[i].open = 0;
                c[i].closed_after = now_s() - c[i].opened_at;
                ages[closed++] = c[i].closed_after;
                close(c[i].fd);
            }
        }
    }
    qsort(ages, (size_t)closed, sizeof *ages, cmp_double);
    printf("opened %d refused %d closed %d median_close_s %.1f\n", opened, refused, closed,
           closed ? ages[closed / 2] : 0.0);
    for (int i = 0; i < count; i++)
        if (c[i].open)
            close(c[i].fd);
    free(ages);
    free(c);
    return 0;
}

/* watchload.c — the load tool of bench/config-server/watch.sh: N watch requests (long
 * polls) held on one config-server, and the time from an edit to each answer.
 *
 *   watchload HOST PORT PATH ETAG N OTHER_FILE OWN_FILE
 *
 * 1. opens N connections (in batches, so the listen backlog never overflows) and prints
 *    "connected N"; waits for a line on stdin (the script reads the server's RSS);
 * 2. sends on each a conditional GET of PATH without its query (304 at once), prints
 *    "keepalive N" once all are answered: idle keep-alive connections that served a request;
 *    waits for a line on stdin;
 * 3. sends on each "GET PATH HTTP/1.1" with If-None-Match: ETAG, waits until the server's
 *    /actuator/health says "held":N, prints "held N <ms>"; waits for a line on stdin;
 * 4. rewrites OTHER_FILE (another application's file, one line added: temp + rename), waits
 *    1.5 s and prints "other <answered>" (0 expected);
 * 5. rewrites OWN_FILE the same way and waits (20 s at most) for every answer; prints
 *    "own <answered> <status 200 count> <first_ms> <p50_ms> <p99_ms> <last_ms>", the times
 *    from the rename to the end of each response.
 * Plain POSIX sockets and epoll: nothing in the tool is slower than the server it measures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
    int fd;
    int done;
    int status;
    size_t got;
    char buf[512];
    double at_ms; /* when the response was complete */
} conn_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int open_conn(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 && errno != EINPROGRESS)
        die("connect");
    return fd;
}

/* GET `path` on a fresh blocking connection; the body into out (truncated). */
static void get_once(const struct sockaddr_in *sa, const char *path, char *out, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    out[0] = '\0';
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return;
    }
    size_t used = 0;
    ssize_t r;
    while (used + 1 < size && (r = read(fd, out + used, size - 1 - used)) > 0)
        used += (size_t)r;
    out[used] = '\0';
    close(fd);
}

/* Rewrites `file` (temp + rename, as editors and ConfigMaps do) with one new line. */
static void rewrite(const char *file)
{
    char tmp[4096], line[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    FILE *in = fopen(file, "r");
    FILE *out = fopen(tmp, "w");
    if (out == NULL)
        die(tmp);
    while (in != NULL && fgets(line, sizeof(line), in) != NULL)
        fputs(line, out);
    if (in != NULL)
        fclose(in);
    fprintf(out, "bench-watch-%ld: %ld\n", (long)now_ms(), (long)now_ms());
    fclose(out);
    if (rename(tmp, file) != 0)
        die("rename");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reads what arrived on c; marks it done when a whole response (headers + Content-Length
 * bytes) is in. */
static void on_readable(conn_t *c)
{
    for (;;) {
        char tmp[4096];
        ssize_t r = read(c->fd, tmp, sizeof(tmp));
        if (r <= 0) {
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                if (!c->done) {
                    c->done = 1;
                    c->at_ms = now_ms();
                }
            }
            return;
        }
        size_t keep = (size_t)r < sizeof(c->buf) - 1 - c->got ? (size_t)r : sizeof(c->buf) - 1 - c->got;
        memcpy(c->buf + c->got, tmp, keep);
        c->got += keep;
        c->buf[c->got] = '\0';
        if (c->status == 0 && strncmp(c->buf, "HTTP/1.1 ", 9) == 0)
            c->status = atoi(c->buf + 9);
        /* small bodies: the response is complete when the stream pauses after the headers;
         * the server sends each answer in one write, so the first read holds it */
        if (strstr(c->buf, "\r\n\r\n") != NULL && !c->done) {
            c->done = 1;
            c->at_ms = now_ms();
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: watchload HOST PORT PATH ETAG N OTHER_FILE OWN_FILE\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
        die("address");
    const char *path = argv[3], *etag = argv[4];
    int n = atoi(argv[5]);
    conn_t *cs = calloc((size_t)n, sizeof(*cs));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (cs == NULL || ep < 0)
        die("setup");
    for (int i = 0; i < n; i++) {
        cs[i].fd = open_conn(&sa);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) != 0)
            die("epoll_ctl");
        if (i % 250 == 249)
            usleep(20000);
    }
    printf("connected %d\n", n);
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof(line), stdin) == NULL)
        return 1;

    /* one conditional GET without a wait on each (304 at once): keep-alive connections that
     * have served a request, as a client's are */
    char req[1024], plain[1024];
    char *q = strchr(path, '?');
    int pl = snprintf(plain, sizeof(plain), "GET %.*s HTTP/1.1\r\nHost: bench\r\nIf-None-Match: %s\r\n\r\n",
                      q != NULL ? (int)(q - path) : (int)strlen(path), path, etag);
    struct epoll_event evs[512];
    int answered = 0;
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, cs[i].fd, &ev);
        if (write(cs[i].fd, plain, (size_t)pl) != pl)
            die("write (a connection the server did not accept?)");
    }
    while (answered < n) {
        int k = epoll_wait(ep, evs, 512, 1000);
        for (int e = 0; e < k; e++) {
            conn_t *c = &cs[evs[e].data.u32];
            if (!(evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            on_readable(c);
            if (c->done) {
                if (c->status != 304) {
                    fprintf(stderr, "watchload: the plain GET got %d, not 304\n", c->status);
                    return 1;
                }
                c->done = 0, c->status = 0, c->got = 0;
                answered++;
            }
        }
    }
    printf("keepalive %d\n", n);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return 1;

    int rl =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\nIf-None-Match: %s\r\n\r\n", path, etag);
    double t_send = now_ms();
    for (int i = 0; i < n; i++)
        if (write(cs[i].fd, req, (size_t)rl) != rl)
            die("write");
    char health[8192], want[64];
    snprintf(want, sizeof(want), "\"held\":%d,", n);
    for (int tries = 0; tries < 600; tries++) {
        get_once(&sa, "/actuator/health", health, sizeof(health));
        if (strstr(health, want) != NULL)
            break;
        usleep(50000);
    }
    if (strstr(health, want) == NULL) {
        fprintf(stderr, "watchload: the server does not hold %d requests: %s\n", n, health);
        return 1;
    }
    printf("held %d %.0f\n", n, now_ms() - t_send);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return 1;

    rewrite(argv[6]);
    double until = now_ms() + 1500;
    while (now_ms() < until) {
        int k = epoll_wait(ep, evs, 512, 100);
        for (int e = 0; e < k; e++)
            on_readable(&cs[evs[e].data.u32]);
    }
    int early = 0;
    for (int i = 0; i < n; i++)
        early += cs[i].done;
    printf("other %d\n", early);
    fflush(stdout);

    double t0 = now_ms();
    rewrite(argv[7]);
    int done = early;
    while (done < n && now_ms() - t0 < 20000) {
        int k = epoll_wait(ep, evs, 512, 200);
        for (int e = 0; e < k; e++) {
            conn_t *c = &cs[evs[e].data.u32];
            int was = c->done;
            on_readable(c);
            done += c->done && !was;
        }
    }
    double *lat = calloc((size_t)n, sizeof(*lat));
    int m = 0, ok = 0;
    for (int i = 0; i < n; i++) {
        if (!cs[i].done)
            continue;
        lat[m++] = cs[i].at_ms - t0;
        ok += cs[i].status == 200;
    }
    qsort(lat, (size_t)m, sizeof(*lat), cmp_double);
    printf("own %d %d %.0f %.0f %.0f %.0f\n", m, ok, m ? lat[0] : -1, m ? lat[m / 2] : -1,
           m ? lat[(size_t)((m - 1) * 0.99)] : -1, m ? lat[m - 1] : -1);
    fflush(stdout);
    for (int i = 0; i < n; i++)
        close(cs[i].fd);
    free(lat);
    free(cs);
    return 0;
}

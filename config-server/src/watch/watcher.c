/* watcher.c — inotify + periodic rescan that drives cs_repo_reload (see watcher.h). */
#include "watch/watcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define WATCH_MASK                                                                                           \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF |     \
     IN_MOVE_SELF | IN_MODIFY)
#define QUIET_MS 50

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* (Re)adds watches on the root and each label directory of the current snapshot. */
static void add_watches(cs_watch_t *w)
{
    if (w->ifd < 0)
        return;
    inotify_add_watch(w->ifd, w->repo->root, WATCH_MASK);
    unsigned tok;
    const cs_snap_t *s = cs_repo_enter(w->repo, &tok);
    for (size_t i = 1; i < s->nlabels; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", w->repo->root, s->labels[i].name);
        inotify_add_watch(w->ifd, path, WATCH_MASK);
    }
    cs_repo_exit(w->repo, tok);
}

static void *watch_main(void *arg)
{
    cs_watch_t *w = arg;
    long long next_rescan = mono_ms() + w->rescan_ms;
    long long pending_since = -1;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        long long now = mono_ms();
        long long deadline = pending_since >= 0 ? pending_since + QUIET_MS : next_rescan;
        int timeout = deadline > now ? (int)(deadline - now) : 0;
        struct pollfd pfd[2] = {{.fd = w->wake[0], .events = POLLIN}, {.fd = w->ifd, .events = POLLIN}};
        int n = poll(pfd, w->ifd >= 0 ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP)))
            break;
        if (n > 0 && w->ifd >= 0 && (pfd[1].revents & POLLIN)) {
            while (read(w->ifd, buf, sizeof(buf)) > 0) {
            }
            pending_since = mono_ms(); /* restart the quiet period on every burst */
            continue;
        }
        now = mono_ms();
        if ((pending_since >= 0 && now >= pending_since + QUIET_MS) || now >= next_rescan) {
            pending_since = -1;
            next_rescan = now + w->rescan_ms;
            if (cs_repo_reload(w->repo) == 1)
                add_watches(w); /* new label directories */
        }
    }
    return NULL;
}

int cs_watch_start(cs_watch_t *w, cs_repo_t *repo, int rescan_ms)
{
    memset(w, 0, sizeof(*w));
    w->repo = repo;
    w->rescan_ms = rescan_ms > 0 ? rescan_ms : 2000;
    w->wake[0] = w->wake[1] = -1;
    w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->ifd < 0 && repo->log != NULL)
        clog_warn(repo->log, "inotify unavailable (%s); relying on the %d ms rescan", strerror(errno),
                  w->rescan_ms);
    if (pipe2(w->wake, O_CLOEXEC) != 0)
        goto fail;
    /* Watching before this returns (and before the server answers): an edit made right after
     * the first 200 of /health must not wait for the rescan. One reload catches what changed
     * between loading the repo and adding the watches. */
    add_watches(w);
    if (cs_repo_reload(repo) == 1)
        add_watches(w);
    if (pthread_create(&w->tid, NULL, watch_main, w) != 0)
        goto fail;
    w->running = 1;
    return 0;
fail:
    cs_watch_stop(w);
    return -1;
}

void cs_watch_stop(cs_watch_t *w)
{
    if (w->running) {
        ssize_t r = write(w->wake[1], "x", 1);
        (void)r;
        pthread_join(w->tid, NULL);
        w->running = 0;
    }
    for (int i = 0; i < 2; i++)
        if (w->wake[i] >= 0)
            close(w->wake[i]);
    if (w->ifd >= 0)
        close(w->ifd);
    w->wake[0] = w->wake[1] = w->ifd = -1;
}

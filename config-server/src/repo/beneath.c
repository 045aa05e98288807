/* beneath.c — bounded reads of files below a directory, never leaving it (beneath.h). */
#include "repo/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errbuf.h"

/* The fallback without openat2: each directory component with O_NOFOLLOW. */
static int open_nofollow_walk(int dirfd, const char *rel, int flags)
{
    char buf[4096];
    size_t n = strlen(rel);
    if (n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, rel, n + 1);
    int fd = dirfd;
    char *comp = buf;
    for (char *slash; (slash = strchr(comp, '/')) != NULL; comp = slash + 1) {
        *slash = '\0';
        int next = strcmp(comp, "..") == 0 ? (errno = EXDEV, -1)
                                           : openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        if (fd != dirfd)
            close(fd);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        fd = next;
    }
    int out =
        strcmp(comp, "..") == 0 ? (errno = EXDEV, -1) : openat(fd, comp, flags | O_CLOEXEC | O_NOFOLLOW);
    int saved = errno;
    if (fd != dirfd)
        close(fd);
    errno = saved;
    return out;
}

int cs_open_beneath(int dirfd, const char *rel, int flags)
{
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS)
        return open_nofollow_walk(dirfd, rel, flags);
    return (int)fd;
}

int cs_read_fd(int fd, size_t max, char **out, size_t *outlen, char *why, size_t whylen)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errbuf_set(why, whylen, "not a regular file");
        return -1;
    }
    size_t want = (size_t)st.st_size > max ? max + 1 : (size_t)st.st_size + 1;
    char *buf = malloc(want + 1);
    size_t n = 0;
    if (buf == NULL) {
        errbuf_set(why, whylen, "out of memory");
        return -1;
    }
    while (n < want) {
        ssize_t r = read(fd, buf + n, want - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            errbuf_set(why, whylen, "read: %s", strerror(errno));
            free(buf);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

int cs_read_beneath(const char *root, const char *rel, size_t max, char **out, size_t *outlen, char *why,
                    size_t whylen)
{
    int rc = 500, fd = -1;
    *out = NULL;
    *outlen = 0;
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        errbuf_set(why, whylen, "cannot open the repository: %s", strerror(errno));
        return 500;
    }
    /* O_NONBLOCK: a FIFO must not hold the loop thread (it is refused below) */
    fd = cs_open_beneath(rootfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        rc = e == ENOENT || e == ENOTDIR || e == EXDEV || e == ELOOP || e == EISDIR ? 404 : 500;
        errbuf_set(why, whylen, "%s", e == EXDEV || e == ELOOP ? "it leaves the repository" : strerror(e));
        goto cleanup;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errbuf_set(why, whylen, "not a regular file");
        rc = 404;
        goto cleanup;
    }
    if (cs_read_fd(fd, max, out, outlen, why, whylen) != 0)
        goto cleanup;
    if (*outlen > max) {
        free(*out);
        *out = NULL;
        *outlen = 0;
        errbuf_set(why, whylen, "larger than the limit of %zu bytes", max);
        rc = 413;
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    close(rootfd);
    return rc;
}

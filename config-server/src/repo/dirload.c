/* dirload.c — the folder backend's loader: walks the repository directory (the root and
 * its label sub-directories, see snapshot.h) and feeds every config file to the snapshot
 * builder. Files are opened with openat2(RESOLVE_BENEATH), so nothing outside the
 * repository is ever read; a file that cannot be read is added as broken, not fatal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "repo/beneath.h"
#include "repo/pathsafe.h"
#include "repo/snapshot.h"

#define MAX_LABEL_DIRS 4096

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the visible entries of directory `fd` (sorted). Returns the count or -1. */
static int list_dir(int fd, char ***names_out)
{
    int dfd = dup(fd);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (dir == NULL) {
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    rewinddir(dir);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (nn == NULL)
                goto fail;
            names = nn;
        }
        if ((names[n] = strdup(de->d_name)) == NULL)
            goto fail;
        n++;
    }
    closedir(dir);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    *names_out = names;
    return (int)n;
fail:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(dir);
    return -1;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Adds one file of directory `dirfd` to the builder (broken when unreadable). 0 or -1. */
static int add_file(cs_snap_build_t *b, int dirfd, const char *name)
{
    char why[256];
    int fd = cs_open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        errbuf_set(why, sizeof(why), "cannot open: %s%s", strerror(errno),
                   errno == EXDEV || errno == ELOOP ? " (symlink leaving the repository)" : "");
        return cs_snap_build_add_broken(b, name, why);
    }
    char *buf = NULL;
    size_t len = 0;
    int r = cs_read_fd(fd, cs_snap_build_max_bytes(b), &buf, &len, why, sizeof(why));
    close(fd);
    if (r != 0)
        return cs_snap_build_add_broken(b, name, why);
    r = cs_snap_build_add(b, name, buf, len);
    free(buf);
    return r;
}

/* Loads one directory's config files into the builder's current label; the names of its
 * sub-directories (candidate labels) are appended to subs[*nsub] when `subs` is given. */
static int load_dir(cs_snap_build_t *b, int dirfd, const char *label, char **subs, int *nsub, char *err,
                    size_t errlen)
{
    char **names = NULL;
    int n = list_dir(dirfd, &names), rc = -1;
    if (n < 0) {
        errbuf_set(err, errlen, "%s: cannot list directory: %s", label[0] ? label : ".", strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (cs_snap_is_config_name(names[i])) {
            if (add_file(b, dirfd, names[i]) != 0)
                goto cleanup;
            continue;
        }
        struct stat st;
        if (subs == NULL || *nsub >= MAX_LABEL_DIRS || !cs_path_name_ok(names[i]) ||
            fstatat(dirfd, names[i], &st, 0) != 0 || !S_ISDIR(st.st_mode))
            continue;
        char name[CS_PATH_NAME_MAX + 1];
        int nl = snprintf(name, sizeof(name), "%s%s%s", label, label[0] ? "/" : "", names[i]);
        if (nl > 0 && (size_t)nl < sizeof(name) && (subs[*nsub] = strdup(name)) != NULL)
            (*nsub)++;
    }
    rc = 0;
cleanup:
    free_names(names, n);
    return rc;
}

cs_snap_t *cs_snap_load(const char *root, const cs_snap_limits_t *lim, char *err, size_t errlen)
{
    cs_snap_build_t *b = cs_snap_build_new(lim);
    char **subs = calloc(MAX_LABEL_DIRS, sizeof(*subs));
    int nsub = 0, ok = 0;
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    errbuf_set(err, errlen, "%s", "");
    if (b == NULL || subs == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto cleanup;
    }
    if (rootfd < 0) {
        errbuf_set(err, errlen, "%s: cannot open repository directory: %s", root, strerror(errno));
        goto cleanup;
    }
    if (load_dir(b, rootfd, "", subs, &nsub, err, errlen) != 0)
        goto cleanup;
    /* subs is a work list: a label directory's own sub-directories are labels with a "/"
     * (Spring's "(_)": release/1.0), up to 4 levels */
    for (int i = 0; i < nsub; i++) {
        int depth = 0;
        for (const char *c = subs[i]; *c; c++)
            depth += *c == '/';
        int lfd = cs_open_beneath(rootfd, subs[i], O_RDONLY | O_DIRECTORY);
        if (lfd < 0) {
            errbuf_set(err, errlen, "%s: cannot open label directory: %s", subs[i], strerror(errno));
            goto cleanup;
        }
        int r = cs_snap_build_label(b, subs[i]);
        if (r == 0)
            r = load_dir(b, lfd, subs[i], depth < 3 ? subs : NULL, &nsub, err, errlen);
        close(lfd);
        if (r != 0)
            goto cleanup;
    }
    ok = 1;
cleanup:
    for (int i = 0; subs != NULL && i < nsub; i++)
        free(subs[i]);
    free(subs);
    if (rootfd >= 0)
        close(rootfd);
    if (!ok) {
        if (b != NULL && err != NULL && errlen > 0 && err[0] == '\0')
            return cs_snap_build_finish(b, NULL, err, errlen); /* the builder failed: its message */
        cs_snap_build_free(b);
        return NULL;
    }
    return cs_snap_build_finish(b, NULL, err, errlen);
}

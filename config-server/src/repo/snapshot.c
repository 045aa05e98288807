/* snapshot.c — loads the config repository into an immutable cs_snap_t (see snapshot.h). */
#include "repo/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "repo/pathsafe.h"
#include "repo/props.h"

static const char *const exts[] = {".properties", ".yml", ".yaml"};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Opens `name` below `dirfd` without ever leaving it (symlinks inside are fine). */
static int open_beneath(int dirfd, const char *name, int flags)
{
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS)
        fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW);
    return (int)fd;
}

static int file_ext(const char *name, size_t *baselen)
{
    size_t n = strlen(name);
    for (int i = 0; i < 3; i++) {
        size_t el = strlen(exts[i]);
        if (n > el && strcmp(name + n - el, exts[i]) == 0) {
            *baselen = n - el;
            return i;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- loading */

typedef struct loader {
    const cs_snap_limits_t *lim;
    EVP_MD_CTX *md;
    size_t nfiles;
    char *err;
    size_t errlen;
} loader_t;

static int read_all(int fd, size_t max, char **out, size_t *outlen, const char *rel, loader_t *ld)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(ld->err, ld->errlen, "%s: not a regular file", rel);
        return -1;
    }
    if ((size_t)st.st_size > max) {
        set_err(ld->err, ld->errlen, "%s: %lld bytes exceed the per-file limit of %zu bytes", rel,
                (long long)st.st_size, max);
        return -1;
    }
    char *buf = malloc(max + 1);
    size_t n = 0;
    if (buf == NULL) {
        set_err(ld->err, ld->errlen, "%s: out of memory", rel);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_err(ld->err, ld->errlen, "%s: read: %s", rel, strerror(errno));
            free(buf);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            set_err(ld->err, ld->errlen, "%s: exceeds the per-file limit of %zu bytes", rel, max);
            free(buf);
            return -1;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static void file_clear(cs_file_t *f)
{
    free(f->name);
    free(f->base);
    free(f->rel);
    yamlconf_free(&f->conf);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the visible entries of directory `fd` (sorted). Returns count or -1. */
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

/* Loads one directory's config files into `l`; `sub` receives the names of the
 * sub-directories (labels) when non-NULL. */
static int load_dir(loader_t *ld, int dirfd, const char *label, cs_label_t *l, char ***sub, int *nsub)
{
    char **names = NULL;
    int n = list_dir(dirfd, &names), rc = -1, ns = 0;
    if (n < 0) {
        set_err(ld->err, ld->errlen, "%s: cannot list directory: %s", label[0] ? label : ".",
                strerror(errno));
        return -1;
    }
    l->files = calloc((size_t)n + 1, sizeof(*l->files));
    if (l->files == NULL)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        size_t baselen = 0;
        int ext = file_ext(names[i], &baselen);
        char rel[512];
        snprintf(rel, sizeof(rel), "%s%s%s", label, label[0] ? "/" : "", names[i]);
        if (ext < 0) {
            if (sub != NULL && ns < 4096 && cs_path_name_ok(names[i])) {
                struct stat st;
                if (fstatat(dirfd, names[i], &st, 0) == 0 && S_ISDIR(st.st_mode)) {
                    (*sub)[ns++] = names[i];
                    names[i] = NULL;
                }
            }
            continue;
        }
        if (++ld->nfiles > ld->lim->max_files) {
            set_err(ld->err, ld->errlen, "more than %zu config files", ld->lim->max_files);
            goto cleanup;
        }
        int fd = open_beneath(dirfd, names[i], O_RDONLY);
        if (fd < 0) {
            set_err(ld->err, ld->errlen, "%s: cannot open: %s%s", rel, strerror(errno),
                    errno == EXDEV || errno == ELOOP ? " (symlink leaving the repository)" : "");
            goto cleanup;
        }
        char *buf = NULL;
        size_t len = 0;
        int r = read_all(fd, ld->lim->max_file_bytes, &buf, &len, rel, ld);
        close(fd);
        if (r != 0)
            goto cleanup;
        EVP_DigestUpdate(ld->md, rel, strlen(rel) + 1);
        EVP_DigestUpdate(ld->md, buf, len);
        EVP_DigestUpdate(ld->md, "\0", 1);
        cs_file_t *f = &l->files[l->nfiles];
        yamlconf_err_t ye;
        if (ext == 0)
            r = cs_props_parse(buf, len, &f->conf, &ye);
        else
            r = yamlconf_parse(buf, len, &ld->lim->yaml, &f->conf, &ye);
        free(buf);
        if (r != 0) {
            set_err(ld->err, ld->errlen, "%s:%d:%d: %s", rel, ye.line, ye.column, ye.msg);
            goto cleanup;
        }
        l->nfiles++;
        f->name = strdup(names[i]);
        f->base = strndup(names[i], baselen);
        f->rel = strdup(rel);
        f->ext = ext;
        if (f->name == NULL || f->base == NULL || f->rel == NULL)
            goto cleanup;
    }
    rc = 0;
cleanup:
    if (nsub != NULL)
        *nsub = ns;
    free_names(names, n);
    return rc;
}

static void label_clear(cs_label_t *l)
{
    for (size_t i = 0; i < l->nfiles; i++)
        file_clear(&l->files[i]);
    free(l->files);
    free(l->name);
}

void cs_snap_free(cs_snap_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nlabels; i++)
        label_clear(&s->labels[i]);
    free(s->labels);
    cs_cache_free(s->cache);
    free(s);
}

cs_snap_t *cs_snap_load(const char *root, const cs_snap_limits_t *lim_in, char *err, size_t errlen)
{
    cs_snap_limits_t lim = {0};
    if (lim_in != NULL)
        lim = *lim_in;
    if (lim.max_file_bytes == 0)
        lim.max_file_bytes = 1u << 20;
    if (lim.max_files == 0)
        lim.max_files = 2000;
    if (lim.yaml.max_bytes == 0 || lim.yaml.max_bytes > lim.max_file_bytes)
        lim.yaml.max_bytes = lim.max_file_bytes;
    loader_t ld = {.lim = &lim, .err = err, .errlen = errlen};
    cs_snap_t *s = calloc(1, sizeof(*s));
    char **subs = NULL;
    int nsub = 0, ok = 0;
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ld.md = EVP_MD_CTX_new();
    if (s == NULL || ld.md == NULL || EVP_DigestInit_ex(ld.md, EVP_sha256(), NULL) != 1) {
        set_err(err, errlen, "out of memory");
        goto cleanup;
    }
    if (rootfd < 0) {
        set_err(err, errlen, "%s: cannot open repository directory: %s", root, strerror(errno));
        goto cleanup;
    }
    subs = calloc(4096, sizeof(*subs));
    s->labels = calloc(1, sizeof(*s->labels));
    if (subs == NULL || s->labels == NULL || (s->labels[0].name = strdup("")) == NULL) {
        set_err(err, errlen, "out of memory");
        goto cleanup;
    }
    s->nlabels = 1;
    if (load_dir(&ld, rootfd, "", &s->labels[0], &subs, &nsub) != 0)
        goto cleanup;
    /* subs is a work list: a label directory's own sub-directories are labels with a "/"
     * (Spring's "(_)": release/1.0), up to 4 levels */
    for (int i = 0; i < nsub; i++) {
        cs_label_t *nl = realloc(s->labels, ((size_t)s->nlabels + 1) * sizeof(*nl));
        if (nl == NULL) {
            set_err(err, errlen, "out of memory");
            goto cleanup;
        }
        s->labels = nl;
        cs_label_t *l = &s->labels[s->nlabels];
        memset(l, 0, sizeof(*l));
        l->name = strdup(subs[i]);
        s->nlabels++;
        int lfd = open_beneath(rootfd, subs[i], O_RDONLY | O_DIRECTORY);
        if (lfd < 0 || l->name == NULL) {
            set_err(err, errlen, "%s: cannot open label directory: %s", subs[i], strerror(errno));
            if (lfd >= 0)
                close(lfd);
            goto cleanup;
        }
        char **kids = calloc(4096, sizeof(*kids));
        int nkids = 0, depth = 0;
        for (const char *c = subs[i]; *c; c++)
            depth += *c == '/';
        int r = kids == NULL ? -1 : load_dir(&ld, lfd, subs[i], l, depth < 3 ? &kids : NULL, &nkids);
        close(lfd);
        for (int k = 0; k < nkids; k++) {
            char name[CS_PATH_NAME_MAX + 1];
            int nl2 = snprintf(name, sizeof(name), "%s/%s", subs[i], kids[k]);
            if (r == 0 && nl2 > 0 && (size_t)nl2 < sizeof(name) && nsub < 4096 &&
                (subs[nsub] = strdup(name)) != NULL)
                nsub++;
            free(kids[k]);
        }
        free(kids);
        if (r != 0) {
            if (kids == NULL)
                set_err(err, errlen, "out of memory");
            goto cleanup;
        }
    }
    unsigned char dg[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(ld.md, dg, &dl);
    for (int i = 0; i < 20; i++)
        snprintf(s->version + 2 * i, 3, "%02x", dg[i]);
    s->loaded_at = time(NULL);
    s->nfiles = ld.nfiles;
    s->cache = cs_cache_new(); /* NULL only means no memo */
    ok = 1;
cleanup:
    if (subs != NULL) {
        for (int i = 0; i < nsub; i++)
            free(subs[i]);
        free(subs);
    }
    if (rootfd >= 0)
        close(rootfd);
    EVP_MD_CTX_free(ld.md);
    if (!ok) {
        cs_snap_free(s);
        s = NULL;
    }
    return s;
}

/* ---------------------------------------------------------------- lookups */

const cs_label_t *cs_snap_label(const cs_snap_t *s, const char *label)
{
    if (label == NULL || strcmp(label, "master") == 0 || strcmp(label, "main") == 0)
        return &s->labels[0];
    for (size_t i = 1; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, label) == 0)
            return &s->labels[i];
    return NULL;
}

const cs_file_t *cs_snap_find(const cs_label_t *l, const char *base, int ext)
{
    for (size_t i = 0; l != NULL && i < l->nfiles; i++)
        if (l->files[i].ext == ext && strcmp(l->files[i].base, base) == 0)
            return &l->files[i];
    return NULL;
}

static int label_has_app(const cs_label_t *l, const char *app)
{
    size_t al = strlen(app);
    for (size_t i = 0; i < l->nfiles; i++) {
        const char *b = l->files[i].base;
        if (strncmp(b, app, al) == 0 && (b[al] == '\0' || b[al] == '-'))
            return 1;
    }
    return 0;
}

int cs_snap_has_app(const cs_snap_t *s, const cs_label_t *l, const char *app)
{
    return label_has_app(&s->labels[0], app) || (l != NULL && label_has_app(l, app));
}

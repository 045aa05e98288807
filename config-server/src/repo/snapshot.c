/* snapshot.c — builds immutable cs_snap_t snapshots file by file (the folder loader in
 * dirload.c and the git backend feed it), frees them, and answers lookups (snapshot.h). */
#include "repo/snapshot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "errbuf.h"
#include "repo/props.h"

static const char *const exts[] = {".properties", ".yml", ".yaml"};

struct cs_snap_build {
    cs_snap_limits_t lim;
    cs_snap_t *s;
    size_t cap; /* of s->labels[s->nlabels - 1].files */
    EVP_MD_CTX *md;
    int failed;
    char err[256];
};

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

int cs_snap_is_config_name(const char *name)
{
    size_t bl;
    return name[0] != '.' && file_ext(name, &bl) >= 0;
}

static void file_clear(cs_file_t *f)
{
    free(f->name);
    free(f->base);
    free(f->rel);
    free(f->broken);
    yamlconf_free(&f->conf);
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

static int fail(cs_snap_build_t *b, const char *msg)
{
    if (!b->failed)
        errbuf_set(b->err, sizeof(b->err), "%s", msg);
    b->failed = 1;
    return -1;
}

int cs_snap_build_label(cs_snap_build_t *b, const char *name)
{
    if (b->failed)
        return -1;
    cs_snap_t *s = b->s;
    cs_label_t *nl = realloc(s->labels, (s->nlabels + 1) * sizeof(*nl));
    if (nl == NULL)
        return fail(b, "out of memory");
    s->labels = nl;
    memset(&nl[s->nlabels], 0, sizeof(*nl));
    if ((nl[s->nlabels].name = strdup(name)) == NULL)
        return fail(b, "out of memory");
    s->nlabels++;
    b->cap = 0;
    return 0;
}

cs_snap_build_t *cs_snap_build_new(const cs_snap_limits_t *lim)
{
    cs_snap_build_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    if (lim != NULL)
        b->lim = *lim;
    if (b->lim.max_file_bytes == 0)
        b->lim.max_file_bytes = 1u << 20;
    if (b->lim.max_files == 0)
        b->lim.max_files = 2000;
    if (b->lim.yaml.max_bytes == 0 || b->lim.yaml.max_bytes > b->lim.max_file_bytes)
        b->lim.yaml.max_bytes = b->lim.max_file_bytes;
    b->s = calloc(1, sizeof(*b->s));
    b->md = EVP_MD_CTX_new();
    if (b->s == NULL || b->md == NULL || EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1 ||
        cs_snap_build_label(b, "") != 0) {
        cs_snap_build_free(b);
        return NULL;
    }
    return b;
}

size_t cs_snap_build_max_bytes(const cs_snap_build_t *b)
{
    return b->lim.max_file_bytes;
}

/* A new zeroed file slot in the current label with its names set, or NULL (failed). */
static cs_file_t *new_file(cs_snap_build_t *b, const char *name)
{
    size_t baselen = 0;
    int ext = file_ext(name, &baselen);
    if (b->failed)
        return NULL;
    if (ext < 0 || name[0] == '.') {
        fail(b, "not a config file name");
        return NULL;
    }
    cs_snap_t *s = b->s;
    if (++s->nfiles > b->lim.max_files) {
        char msg[64];
        snprintf(msg, sizeof(msg), "more than %zu config files", b->lim.max_files);
        fail(b, msg);
        return NULL;
    }
    cs_label_t *l = &s->labels[s->nlabels - 1];
    if (l->nfiles == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        cs_file_t *nf = realloc(l->files, cap * sizeof(*nf));
        if (nf == NULL) {
            fail(b, "out of memory");
            return NULL;
        }
        l->files = nf;
        b->cap = cap;
    }
    cs_file_t *f = &l->files[l->nfiles++];
    memset(f, 0, sizeof(*f));
    f->ext = ext;
    f->name = strdup(name);
    f->base = strndup(name, baselen);
    size_t rl = strlen(l->name) + strlen(name) + 2;
    f->rel = malloc(rl);
    if (f->rel != NULL)
        snprintf(f->rel, rl, "%s%s%s", l->name, l->name[0] ? "/" : "", name);
    if (f->name == NULL || f->base == NULL || f->rel == NULL) {
        fail(b, "out of memory");
        return NULL;
    }
    return f;
}

static int mark_broken(cs_snap_build_t *b, cs_file_t *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int mark_broken(cs_snap_build_t *b, cs_file_t *f, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    yamlconf_free(&f->conf);
    memset(&f->conf, 0, sizeof(f->conf));
    if ((f->broken = strdup(msg)) == NULL)
        return fail(b, "out of memory");
    b->s->nbroken++;
    return 0;
}

/* f->digest: the first 16 bytes of SHA-256(buf) (what the ETag of a response reading `f`
 * hashes, so an edit of another file leaves that ETag alone). */
static void file_digest(cs_file_t *f, const void *buf, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (EVP_Digest(buf, len, md, &ml, EVP_sha256(), NULL) == 1 && ml >= sizeof(f->digest))
        memcpy(f->digest, md, sizeof(f->digest));
}

int cs_snap_build_add_broken(cs_snap_build_t *b, const char *name, const char *why)
{
    cs_file_t *f = new_file(b, name);
    if (f == NULL)
        return -1;
    EVP_DigestUpdate(b->md, f->rel, strlen(f->rel) + 1);
    EVP_DigestUpdate(b->md, why, strlen(why) + 1);
    file_digest(f, why, strlen(why));
    return mark_broken(b, f, "%s: %s", f->rel, why);
}

int cs_snap_build_add(cs_snap_build_t *b, const char *name, const char *buf, size_t len)
{
    cs_file_t *f = new_file(b, name);
    if (f == NULL)
        return -1;
    EVP_DigestUpdate(b->md, f->rel, strlen(f->rel) + 1);
    EVP_DigestUpdate(b->md, buf, len);
    EVP_DigestUpdate(b->md, "\0", 1);
    file_digest(f, buf, len);
    b->s->bytes += len;
    if (len > b->lim.max_file_bytes)
        return mark_broken(b, f, "%s: %zu bytes exceed the per-file limit of %zu bytes", f->rel, len,
                           b->lim.max_file_bytes);
    yamlconf_err_t ye = {0};
    int r = f->ext == 0 ? cs_props_parse(buf, len, &f->conf, &ye)
                        : yamlconf_parse(buf, len, &b->lim.yaml, &f->conf, &ye);
    if (r != 0)
        return mark_broken(b, f, "%s:%d:%d: %s", f->rel, ye.line, ye.column, ye.msg);
    return 0;
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const cs_file_t *)a)->name, ((const cs_file_t *)b)->name);
}

void cs_snap_build_free(cs_snap_build_t *b)
{
    if (b == NULL)
        return;
    cs_snap_free(b->s);
    EVP_MD_CTX_free(b->md);
    free(b);
}

cs_snap_t *cs_snap_build_finish(cs_snap_build_t *b, const char *version, char *err, size_t errlen)
{
    cs_snap_t *s = NULL;
    if (b->failed) {
        errbuf_set(err, errlen, "%s", b->err);
        goto cleanup;
    }
    s = b->s;
    b->s = NULL;
    for (size_t i = 0; i < s->nlabels; i++)
        if (s->labels[i].nfiles > 1)
            qsort(s->labels[i].files, s->labels[i].nfiles, sizeof(cs_file_t), cmp_files);
    if (version != NULL) {
        snprintf(s->version, sizeof(s->version), "%s", version);
    } else {
        unsigned char dg[32];
        unsigned int dl = 0;
        EVP_DigestFinal_ex(b->md, dg, &dl);
        for (int i = 0; i < 20; i++)
            snprintf(s->version + 2 * i, 3, "%02x", dg[i]);
    }
    s->loaded_at = time(NULL);
    s->cache = cs_cache_new(); /* NULL only means no memo */
cleanup:
    cs_snap_build_free(b);
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

/* The first broken file of `l` named `name` or `name-{profile}`, or NULL. */
static const cs_file_t *broken_in(const cs_label_t *l, const char *name, char *const *profiles, size_t np)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < l->nfiles; i++) {
        const cs_file_t *f = &l->files[i];
        if (f->broken == NULL || strncmp(f->base, name, nl) != 0)
            continue;
        if (f->base[nl] == '\0')
            return f;
        for (size_t p = 0; f->base[nl] == '-' && p < np; p++)
            if (strcmp(f->base + nl + 1, profiles[p]) == 0)
                return f;
    }
    return NULL;
}

const cs_file_t *cs_snap_broken_for(const cs_snap_t *s, const cs_label_t *l, char *const *apps, size_t na,
                                    char *const *profiles, size_t np)
{
    const cs_label_t *locs[2] = {&s->labels[0], l};
    return cs_snap_broken_in(s, locs, l != NULL && l != &s->labels[0] ? 2 : 1, apps, na, profiles, np);
}

const cs_file_t *cs_snap_broken_in(const cs_snap_t *s, const cs_label_t *const *locs, size_t nlocs,
                                   char *const *apps, size_t na, char *const *profiles, size_t np)
{
    if (s->nbroken == 0)
        return NULL;
    for (size_t li = 0; li < nlocs; li++) {
        const cs_file_t *f = broken_in(locs[li], "application", profiles, np);
        for (size_t a = 0; f == NULL && a < na; a++)
            f = broken_in(locs[li], apps[a], profiles, np);
        if (f != NULL)
            return f;
    }
    return NULL;
}

json_t *cs_snap_broken_json(const cs_snap_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && s->nbroken > 0 && i < s->nlabels; i++)
        for (size_t j = 0; j < s->labels[i].nfiles; j++)
            if (s->labels[i].files[j].broken != NULL)
                json_array_append_new(a, json_pack("{s:s,s:s}", "file", s->labels[i].files[j].rel, "error",
                                                   s->labels[i].files[j].broken));
    return a;
}

const char *cs_snap_label_of(const cs_snap_t *s, const cs_file_t *f)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (f >= s->labels[i].files && f < s->labels[i].files + s->labels[i].nfiles)
            return s->labels[i].name;
    return "";
}

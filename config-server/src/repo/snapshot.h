/* snapshot.h — an immutable, fully parsed copy of a config repository (one folder, or one
 * git commit's tree).
 *
 * Folder layout (docs/design.md §3, repo/dirload.c): the repo root holds
 * `{app}[-{profile}].yml|.yaml|.properties` (label `master`, alias `main`); each
 * sub-directory `{label}/` (up to four levels: `release/1.0` is Spring's `release(_)1.0`)
 * holds files that overlay the root for that label. Hidden entries (".…") are ignored,
 * which also skips Kubernetes ConfigMap internals (`..data`). Files are opened with
 * openat2 RESOLVE_BENEATH (falling back to O_NOFOLLOW), so a symlink may point inside the
 * repo (ConfigMap style) but never outside it.
 * Git (git/gitsnap.c): one snapshot per commit, the files of the commit's root tree; the
 * label is the commit, so there are no overlay labels.
 *
 * Both are made with the builder below, which parses every file the same way. A file that
 * cannot be served (YAML error, too large, invalid UTF-8, a symlink leaving the repo …)
 * does not fail the snapshot: it is kept with `broken` set and no documents, so every
 * request that does not need it is served (as Spring fails only the requests that read
 * such a file); cs_snap_broken_for finds the ones that do.
 *
 * `version` is a content hash (SHA-256 over every file's label, name and bytes, 40 hex
 * digits), or the commit id for git. A snapshot is never modified after it is built.
 */
#ifndef CS_SNAPSHOT_H
#define CS_SNAPSHOT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "repo/cache.h"
#include "yamlconf.h"

typedef struct cs_file {
    char *name;               /* owned: file name, "customer-service-local.yml" */
    char *base;               /* owned: name without extension, "customer-service-local" */
    char *rel;                /* owned: path below the root, "customer-service-local.yml" or "v2/x.yml" */
    int ext;                  /* 0 properties, 1 yml, 2 yaml (Spring's loader order) */
    char *broken;             /* owned: why the file cannot be served ("<rel>:<line>:<col>: …"), or NULL */
    unsigned char digest[16]; /* SHA-256 (first 16 bytes) of the file's bytes, or of `broken` */
    yamlconf_t conf;
} cs_file_t;

typedef struct cs_label {
    char *name;       /* owned: "" for the root */
    cs_file_t *files; /* owned, sorted by name */
    size_t nfiles;
} cs_label_t;

typedef struct cs_snap {
    cs_label_t *labels; /* owned; labels[0] is the root */
    size_t nlabels;
    char version[41];
    time_t loaded_at;
    size_t nfiles;     /* over all labels */
    size_t nbroken;    /* files with `broken` set */
    size_t bytes;      /* source bytes parsed (the snapshot's size is a small multiple) */
    cs_cache_t *cache; /* owned: memo of rendered responses (the only mutable part) */
} cs_snap_t;

typedef struct cs_snap_limits {
    size_t max_file_bytes; /* 0 → 1 MiB */
    size_t max_files;      /* 0 → 2000 */
    yamlconf_limits_t yaml;
} cs_snap_limits_t;

/* ---- building (used by the folder loader and the git backend) ---- */
typedef struct cs_snap_build cs_snap_build_t;

/* A new builder with the root label open. NULL on out of memory. */
cs_snap_build_t *cs_snap_build_new(const cs_snap_limits_t *lim);
/* Opens the overlay label `name` ("v2", "release/1.0"); later files go there. 0 or -1. */
int cs_snap_build_label(cs_snap_build_t *b, const char *name);
/* 1 when `name` is a config file name (.properties/.yml/.yaml, not hidden). */
int cs_snap_is_config_name(const char *name);
/* Adds the config file `name` (see cs_snap_is_config_name) of the current label with its
 * bytes (copied; NUL-terminated not required). Parse errors mark the file broken. Returns
 * 0, or -1 on a fatal error (out of memory, more than max_files). */
int cs_snap_build_add(cs_snap_build_t *b, const char *name, const char *buf, size_t len);
/* Adds `name` as broken with the reason `why` (an unreadable file). 0 or -1 as above. */
int cs_snap_build_add_broken(cs_snap_build_t *b, const char *name, const char *why);
/* The per-file limit the builder enforces (readers need not read beyond it + 1). */
size_t cs_snap_build_max_bytes(const cs_snap_build_t *b);
/* Finishes: a new snapshot (`version` NULL → the content hash), or NULL with `err` filled
 * when an earlier call failed or memory ran out. Frees the builder either way. */
cs_snap_t *cs_snap_build_finish(cs_snap_build_t *b, const char *version, char *err, size_t errlen);
/* Drops a builder without finishing it. NULL-safe. */
void cs_snap_build_free(cs_snap_build_t *b);

/* Loads the folder repository at `root` (repo/dirload.c). NULL with `err` filled only when
 * the repository as a whole cannot be read (not a directory, out of memory, too many
 * files); broken files are in the snapshot. */
cs_snap_t *cs_snap_load(const char *root, const cs_snap_limits_t *lim, char *err, size_t errlen);
/* NULL-safe. */
void cs_snap_free(cs_snap_t *s);

/* ---- lookups ---- */
/* The overlay for `label`: NULL / "master" / "main" → the root; otherwise the
 * sub-directory of that name, or NULL when there is none. Borrowed. */
const cs_label_t *cs_snap_label(const cs_snap_t *s, const char *label);
/* The file named `base` + one extension in `l` with the given extension index (0..2),
 * or NULL. Borrowed. */
const cs_file_t *cs_snap_find(const cs_label_t *l, const char *base, int ext);
/* 1 when `app` has `{app}.*` or `{app}-*.*` in the root or in `l`. */
int cs_snap_has_app(const cs_snap_t *s, const cs_label_t *l, const char *app);
/* The first broken file a request for `apps` × `profiles` on overlay `l` would read
 * (`{app}[-{profile}]` and `application[-{profile}]` in the root and in `l`), or NULL. */
const cs_file_t *cs_snap_broken_for(const cs_snap_t *s, const cs_label_t *l, char *const *apps, size_t na,
                                    char *const *profiles, size_t np);
/* The same over the locations `locs[0..nlocs)` (env/searchpath.h). */
const cs_file_t *cs_snap_broken_in(const cs_snap_t *s, const cs_label_t *const *locs, size_t nlocs,
                                   char *const *apps, size_t na, char *const *profiles, size_t np);
/* [{"file": rel, "error": why}, …] of the broken files of `s` (empty array when none). */
json_t *cs_snap_broken_json(const cs_snap_t *s);
/* The label name of file `f` of `s` ("" for the root), for messages. */
const char *cs_snap_label_of(const cs_snap_t *s, const cs_file_t *f);

#endif

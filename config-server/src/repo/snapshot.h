/* snapshot.h — an immutable, fully parsed copy of the config repository.
 *
 * Layout served (design §3): the repo root holds `{app}[-{profile}].yml|.yaml|.properties`
 * (label `master`, alias `main`); each first-level sub-directory `{label}/` holds files
 * that overlay the root for that label. Hidden entries (".…") are ignored, which also
 * skips Kubernetes ConfigMap internals (`..data`). Files are opened with openat2
 * RESOLVE_BENEATH (falling back to O_NOFOLLOW), so a symlink may point inside the repo
 * (ConfigMap style) but never outside it.
 *
 * `version` is a content hash (SHA-256 over every file's label, name and bytes, 40 hex
 * digits). A snapshot is never modified after cs_snap_load returns.
 */
#ifndef CS_SNAPSHOT_H
#define CS_SNAPSHOT_H

#include <stddef.h>
#include <time.h>

#include "repo/cache.h"
#include "yamlconf.h"

typedef struct cs_file {
    char *name; /* owned: file name, "customer-service-local.yml" */
    char *base; /* owned: name without extension, "customer-service-local" */
    char *rel;  /* owned: path below the root, "customer-service-local.yml" or "v2/x.yml" */
    int ext;    /* 0 properties, 1 yml, 2 yaml (Spring's loader order) */
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
    cs_cache_t *cache; /* owned: memo of rendered responses (the only mutable part) */
} cs_snap_t;

typedef struct cs_snap_limits {
    size_t max_file_bytes; /* 0 → 1 MiB */
    size_t max_files;      /* 0 → 2000 */
    yamlconf_limits_t yaml;
} cs_snap_limits_t;

/* Loads the repository at `root`. Returns a new snapshot, or NULL with `err` filled in
 * ("<file>:<line>:<col>: <message>"). */
cs_snap_t *cs_snap_load(const char *root, const cs_snap_limits_t *lim, char *err, size_t errlen);
/* NULL-safe. */
void cs_snap_free(cs_snap_t *s);

/* The overlay for `label`: NULL / "master" / "main" → the root; otherwise the
 * sub-directory of that name, or NULL when there is none. Borrowed. */
const cs_label_t *cs_snap_label(const cs_snap_t *s, const char *label);
/* The file named `base` + one extension in `l` with the given extension index (0..2),
 * or NULL. Borrowed. */
const cs_file_t *cs_snap_find(const cs_label_t *l, const char *base, int ext);
/* 1 when `app` has `{app}.*` or `{app}-*.*` in the root or in `l`. */
int cs_snap_has_app(const cs_snap_t *s, const cs_label_t *l, const char *app);

#endif

/* environment.h — Spring Cloud Config's Environment for one request: which property
 * sources apply, in which order, their values as Spring serves them (decrypted), and the
 * merged flat view used by the .yml/.properties/.json forms.
 *
 * Order (highest precedence first), as measured on Spring Cloud Config Server 5.0.6's
 * native backend: profile-specific files first — last profile first; within a profile the
 * later location first (a label overlay before the search paths before the root,
 * env/searchpath.h), and the applications before `application` (several
 * applications `a,b`: the last one first) — then the plain files in the same
 * location/name order. Within a file, later documents come first and documents activated
 * for other profiles (spring.config.activate.on-profile, legacy spring.profiles) are left
 * out. The shared application*.yml files apply to every application, known or not.
 *
 * Values: `{cipher}…` strings are decrypted (crypto/cipher.h) and, as Spring's
 * CipherEnvironmentEncryptor does, move to the end of their source; one that does not
 * decrypt (or any, without a key) becomes `invalid.<key>` = "<n/a>" and is reported.
 * Floats and integers beyond 64 bits are Java's (env/jnum.h).
 *
 * Merging (flat forms): lowest to highest, a higher source's list (`key[i]`) replaces the
 * whole lower list; `spring.profiles` is dropped; list entries are listed last; then
 * `${key:default}` placeholders are resolved against the merged values only
 * (env/placeholder.h: unresolvable ones are left as they are; `\${` escapes; a cycle is
 * an error, which Spring answers with 400).
 */
#ifndef CS_ENVIRONMENT_H
#define CS_ENVIRONMENT_H

#include <stddef.h>

#include <jansson.h>

#include "crypto/keys.h"
#include "env/jnum.h"
#include "env/overrides.h"
#include "repo/snapshot.h"

#define CS_ENV_MAX_SOURCES 256
#define CS_ENV_MAX_PROFILES 16
#define CS_ENV_MAX_APPS 16

/* Told about each {cipher} value that is served as invalid.<key>: the file (repo-relative),
 * the key and why. */
typedef void (*cs_env_invalid_fn)(void *ctx, const char *file, const char *key, const char *why);

typedef struct cs_env_crypt {
    const cs_keys_t *keys;    /* NULL: no key configured */
    cs_env_invalid_fn report; /* may be NULL */
    void *ctx;
} cs_env_crypt_t;

typedef struct cs_source {
    const cs_file_t *file;     /* borrowed from the snapshot */
    const yamlconf_doc_t *doc; /* borrowed */
    size_t docidx;
} cs_source_t;

typedef struct cs_env {
    cs_source_t src[CS_ENV_MAX_SOURCES]; /* highest precedence first */
    size_t n;
    cs_env_crypt_t crypt;      /* how {cipher} values are served */
    const cs_overrides_t *ovr; /* borrowed: the server's overrides (env/overrides.h), NULL = none;
                                  served before src[0] as the source "overrides" */
} cs_env_t;

/* Splits a validated comma list into `out` (pointers into `buf`, which is modified). */
size_t cs_env_split_profiles(char *buf, char **out, size_t max);
/* 1 when the activation expression `expr` matches the active `profiles`. */
int cs_env_profile_match(const char *expr, char *const *profiles, size_t np);

/* Collects the sources for the applications `apps` (as requested, `a,b` split) with
 * `profiles` on label overlay `lbl` of `s`. out->crypt and out->ovr are left as they are. */
void cs_env_collect(const cs_snap_t *s, const cs_label_t *lbl, char *const *apps, size_t napps,
                    char *const *profiles, size_t np, cs_env_t *out);
/* The same over the locations `locs[0..nlocs)`, lowest precedence first (the root, the
 * search paths, the label folders: env/searchpath.h); a later location's files come first. */
void cs_env_collect_in(const cs_label_t *const *locs, size_t nlocs, char *const *apps, size_t napps,
                       char *const *profiles, size_t np, cs_env_t *out);

/* How property sources are named, as Spring names them. Folder backend (uri NULL):
 * "file:<dir>/<rel>", or "Config resource 'file [<dir>/<rel>]' via location 'file:<dir>/'
 * (document #N)" for multi-document files. Git backend: what Spring's EnvironmentCleaner
 * makes of those, "<uri>/<rel>" and "<uri>/Config resource 'file [<dir>/<rel>' via
 * location '' (document #N)", with "state" "" instead of null. */
typedef struct cs_srcnames {
    const char *dir; /* borrowed: the folder, or (git) the work dir Spring's names show */
    const char *uri; /* borrowed: NULL (folder), or the git URI as displayed */
} cs_srcnames_t;

/* 1 when `e` has overrides (a property source beyond e->n). */
int cs_env_has_overrides(const cs_env_t *e);

/* The JSON Environment, the overrides first (the source "overrides"). `app` and
 * `profiles` are the requested comma lists (echoed as Spring does, one element); `label`
 * may be NULL (→ null). Source names per `names`. `v2` gives {"value","origin"} values with
 * Spring's origin "line:column" (decrypted values stay plain, as Spring's). Numbers are
 * marks of `jn`. New reference or NULL. */
json_t *cs_env_json(const cs_env_t *e, cs_jnum_t *jn, const char *app, const char *profiles,
                    const char *label, const char *version, const cs_srcnames_t *names, int v2);

/* The merged flat map (ordered JSON object: flat key → typed value; the overrides merged
 * last, so they win); placeholders
 * resolved when `resolve`. New reference, or NULL with `err` filled: *bad = 1 when the
 * repository's values are at fault (a placeholder cycle, an expansion past 16 MiB), 0
 * when memory ran out. */
json_t *cs_env_merge(const cs_env_t *e, cs_jnum_t *jn, int resolve, int *bad, char *err, size_t errlen);

#endif

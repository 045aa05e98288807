/* searchpath.h — Spring Cloud Config's `search-paths`: the folders of the repository that a
 * request reads, besides its root (folder backend).
 *
 * `--search-paths` is a comma list of paths relative to the repository, each with optional
 * `{application}`, `{profile}` and `{label}` placeholders and the wildcards `*` and `?`
 * (within one folder name) and `**` (any number of folders), as Spring's git backend
 * resolves `search-paths`. The locations of one request, lowest precedence first, are built
 * as Spring's getLocations builds them:
 *   1. the repository root, always (Spring puts "/" before the search paths);
 *   2. each search path in the order given, for each profile requested, for each
 *      application requested, its placeholders replaced ({label}: the request's label, else
 *      `default_label`: "master" for a folder, --default-label for git) and its wildcards
 *      matched against the repository's (or the commit's) folders
 *      (the matches in path order); a folder that does not exist is skipped, and a folder
 *      already listed keeps its first place;
 *   3. folder backend, with a label other than master/main: the label's folder below the
 *      root and below each search path without placeholders or wildcards (Spring native's
 *      label locations: `v2/`, `team/v2/`). On git the label is the commit read.
 * A later location has the higher precedence (environment.h). A label names no folder of
 * either kind → the request's label is unknown (404, as without search paths).
 *
 * Hardening: a path may not leave the repository: no "..", ".", empty or hidden segment,
 * no "\", only letters, digits, "-_.+@*?" and the three placeholders (anything else in
 * braces is refused at start); the values put in are the allow-listed names of the URL
 * (repo/pathsafe.h), so `{application}` can never be "../x". Folders are only ever looked
 * up among those of the loaded snapshot (at most four levels deep), never on disk.
 */
#ifndef CS_SEARCHPATH_H
#define CS_SEARCHPATH_H

#include <stddef.h>

#include "repo/snapshot.h"

#define CS_SP_MAX 32       /* search paths */
#define CS_SP_PATH_MAX 256 /* bytes of one */
#define CS_SP_MAX_LOCS 64  /* locations of one request */

typedef struct cs_searchpaths {
    char *pats[CS_SP_MAX]; /* owned: normalised (no leading or trailing "/") */
    size_t n;
    int git;                 /* the git backend: a label is a commit (no label folders) */
    char default_label[129]; /* {label} of a request without one: "master" (folder), or git's */
} cs_searchpaths_t;

/* Parses a comma list (blanks around items and leading/trailing "/" ignored; "/" alone is
 * the root, already searched) for the folder backend (default_label "master"; set `git`
 * and `default_label` after for git). 0, or -1 with `err` naming the bad path. */
int cs_sp_parse(cs_searchpaths_t *sp, const char *list, char *err, size_t errlen);
void cs_sp_free(cs_searchpaths_t *sp);

typedef struct cs_locs {
    const cs_label_t *l[CS_SP_MAX_LOCS]; /* borrowed from the snapshot; l[0] is the root */
    size_t n;
    int label_found; /* git, no label, master/main, or a folder of that label exists */
} cs_locs_t;

/* The locations of a request on `s` (`sp` may be NULL: root and label folder only), lowest
 * precedence first. `label` "" when the request has none; `apps` and `profiles` as split
 * from the URL (allow-listed). */
void cs_sp_locations(const cs_searchpaths_t *sp, const cs_snap_t *s, const char *label, char *const *apps,
                     size_t na, char *const *profiles, size_t np, cs_locs_t *out);

/* 1 when the folder path `path` matches the pattern `pat` ("*", "?" within a name, "**"
 * any number of names). */
int cs_sp_match(const char *pat, const char *path);

#endif

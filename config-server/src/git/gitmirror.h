/* gitmirror.h — the git backend's local bare mirror of the remote config repository
 * (libgit2): created or reopened in a private directory, fetched with force-pull
 * semantics (every branch and tag mapped onto itself, forced, pruned: the
 * remote wins, force-pushed branches and moved tags replace the local refs, deleted
 * branches disappear), its refs listed, commit ids resolved, and a commit's root tree
 * turned into a snapshot. Never a work tree: files are read from blobs.
 *
 * Threads: fetch and list_refs belong to one thread (the fetcher); lookup_prefix and
 * snapshot to readers (serialised inside on their own libgit2 handle). The two handles
 * share the directory; libgit2 re-reads packs a fetch added when a lookup misses.
 *
 * Credentials come from the caller (env or files, never the repository): user + password
 * (or token) for http(s), an ssh private key (+ known_hosts) for ssh; so does the way to the
 * remote: an http(s) proxy (CONNECT) and a CA bundle of its own for an https remote.
 */
#ifndef CS_GITMIRROR_H
#define CS_GITMIRROR_H

#include <pthread.h>
#include <stddef.h>

#include <git2.h>

#include "repo/snapshot.h"

typedef struct cs_gitm_cred {
    char *user;        /* owned or NULL */
    char *pass;        /* owned or NULL (wiped on close) */
    char *ssh_key;     /* owned: private key file, or NULL */
    char *known_hosts; /* owned: known_hosts file for ssh, or NULL (~/.ssh/known_hosts) */
    char *proxy;       /* owned: http(s) proxy URL for the remote (may carry user:password@), or NULL */
    char *ca_file;     /* owned: PEM CA bundle trusted for an https remote besides the system's, or NULL */
} cs_gitm_cred_t;

typedef struct cs_gitm_ref {
    char *name; /* owned: without refs/heads/ or refs/tags/ */
    int tag;    /* 0 branch, 1 tag */
    git_oid commit;
} cs_gitm_ref_t;

typedef struct cs_gitm_refs {
    cs_gitm_ref_t *v; /* owned, sorted by (tag, name) */
    size_t n;
} cs_gitm_refs_t;

typedef struct cs_gitm {
    char *dir;         /* owned: the bare repository */
    char *uri;         /* owned: the remote (may carry credentials) */
    char *uri_display; /* owned: the remote with any password removed */
    cs_gitm_cred_t cred;
    int timeout_s;
    git_repository *fetch_repo; /* the fetcher's handle */
    git_remote *remote;         /* owned: origin, made once and kept for every fetch (each
                                 * lookup leaks in libgit2 1.5's regexp code) */
    git_repository *read_repo;  /* readers' handle, under read_mu */
    pthread_mutex_t read_mu;
} cs_gitm_t;

/* Frees (wiping the secrets) the strings of `c` and zeroes it. */
void cs_gitm_cred_free(cs_gitm_cred_t *c);
/* A copy of every string of `c` into `out`. 0, or -1 (out of memory; `out` left empty). */
int cs_gitm_cred_copy(const cs_gitm_cred_t *c, cs_gitm_cred_t *out);

/* Creates (or reopens) the bare mirror in `dir` for `uri`; takes ownership of `cred`'s
 * strings. 0, or -1 with `err` filled. */
int cs_gitm_open(cs_gitm_t *m, const char *dir, const char *uri, cs_gitm_cred_t *cred, int timeout_s,
                 char *err, size_t errlen);
void cs_gitm_close(cs_gitm_t *m);

/* Fetches from the remote (fetcher thread). 0, or -1 with `err` filled. */
int cs_gitm_fetch(cs_gitm_t *m, char *err, size_t errlen);
/* The mirror's branches and tags, peeled to commits (fetcher thread). NULL on error. */
cs_gitm_refs_t *cs_gitm_list_refs(cs_gitm_t *m, char *err, size_t errlen);
void cs_gitm_refs_free(cs_gitm_refs_t *r);
/* The ref `name` (tag 0 branch, 1 tag) in `r`, or NULL. */
const cs_gitm_ref_t *cs_gitm_refs_find(const cs_gitm_refs_t *r, int tag, const char *name);

/* Resolves a 4..40 hex digit commit id (prefix). 0, 404 (no such commit) or 400
 * (ambiguous) with `why` filled. */
int cs_gitm_lookup_prefix(cs_gitm_t *m, const char *hex, git_oid *out, char *why, size_t whylen);
/* The snapshot of `commit`'s root tree (version = the commit id), or NULL with `err`. With
 * `subdirs` each folder (four levels deep, hidden ones left out) is a label of the snapshot
 * with its config files, for the search paths (env/searchpath.h). */
cs_snap_t *cs_gitm_snapshot(cs_gitm_t *m, const git_oid *commit, const cs_snap_limits_t *lim, int subdirs,
                            char *err, size_t errlen);

/* The blob at `rel` ("/"-separated, checked by the caller) in the tree of the commit
 * `commit_hex` (40 hex digits), at most `max` bytes, into *out (malloc'ed, NUL-terminated,
 * *outlen bytes). 0; 404 when the commit has no such file (missing, a directory, a
 * symlink: never followed, a submodule); 413 when larger than `max`; 500 with `why`. */
int cs_gitm_read_file(cs_gitm_t *m, const char *commit_hex, const char *rel, size_t max, char **out,
                      size_t *outlen, char *why, size_t whylen);
/* `uri` with a password in it replaced by "***" (malloc'ed, NULL on OOM). */
char *cs_gitm_redact(const char *uri);

#endif

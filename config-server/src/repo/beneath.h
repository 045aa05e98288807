/* beneath.h — reading files of a folder repository without ever leaving it: the opens
 * use openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so a symlink may point inside the
 * repository (Kubernetes ConfigMap style) but never outside it, and reads are bounded.
 * Used by the snapshot loader (dirload.c) and the plain-text endpoint (repo.c).
 */
#ifndef CS_BENEATH_H
#define CS_BENEATH_H

#include <stddef.h>

/* Opens `rel` below the directory `dirfd` (`rel` may hold "/"-separated components).
 * Without openat2 (ENOSYS) every component is opened with O_NOFOLLOW, so no symlink is
 * followed at all. Returns the descriptor, or -1 with errno set. */
int cs_open_beneath(int dirfd, const char *rel, int flags);

/* Reads at most max + 1 bytes of the regular file `fd` (one more than allowed shows a
 * file too large). 0 with *out malloc'ed (NUL-terminated, *outlen bytes), or -1 with
 * `why` filled (not a regular file, a read error, out of memory). */
int cs_read_fd(int fd, size_t max, char **out, size_t *outlen, char *why, size_t whylen);

/* Reads the regular file `rel` below the directory `root` (at most `max` bytes). Returns
 * 0 with *out malloc'ed (NUL-terminated, *outlen bytes); 404 when there is no such
 * regular file below `root` (missing, a directory, a symlink leaving it); 413 when it is
 * larger than `max`; 500 with `why` filled on any other failure. */
int cs_read_beneath(const char *root, const char *rel, size_t max, char **out, size_t *outlen, char *why,
                    size_t whylen);

#endif

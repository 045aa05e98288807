/* cs_itgit.h — git fixtures of the config-server integration tests (made with the git CLI):
 * a bare remote and a work clone that commits and pushes, plus shell helpers. Failures fail
 * the current cmocka test.
 */
#ifndef CS_ITGIT_H
#define CS_ITGIT_H

#include <stddef.h>

typedef struct gitfix {
    char dir[256]; /* temp dir: work/ (a clone that commits) and remote.git (bare) */
    char work[300];
    char remote[300]; /* path of the bare remote */
    char uri[320];    /* file:// URI of the remote */
} gitfix_t;

#define GIT "git -c user.name=it -c user.email=it@example.org -c init.defaultBranch=main"

/* Runs a shell command built from fmt; fails the test when it does not exit 0. */
void csit_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The output of a shell command (first line, newline stripped) into out. */
void csit_sh_out(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A remote with main (app.yml gen 1, application.yml, multi.yml, sub/app.yml, a symlink
 * app-leak.yml), release/1.0 (rel: 1), tag v1 (annotated, on release/1.0), pushed from work/. */
void gitfix_make(gitfix_t *g);
/* Commits `gen` into app.yml and application.yml (one commit: a torn read would show two
 * different generations) and pushes; force when `force` (history rewritten). */
void gitfix_commit(const gitfix_t *g, int gen, int force);
void gitfix_rm(gitfix_t *g);

/* Starts `cmd` (a shell command line: a test server that prints "ready" as its first line
 * when it listens) in the background with its output in `log`, and waits up to 5 s for that
 * line; fails the test otherwise. Returns the pid; stop it with kill(pid, SIGTERM). */
int csit_bg_ready(const char *cmd, const char *log);

#endif

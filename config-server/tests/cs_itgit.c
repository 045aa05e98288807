/* cs_itgit.c — the git fixtures of the config-server integration tests (cs_itgit.h). */
#include "cs_itgit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Runs a shell command built from fmt; fails the test when it does not exit 0. */
void csit_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st != 0)
        fail_msg("command failed (%d): %s", st, cmd);
}

/* The output of a shell command (first line, newline stripped) into out. */
void csit_sh_out(char *out, size_t len, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(out, (int)len, p) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(pclose(p), 0);
}

/* A remote with main (app.yml gen 1, application.yml), release/1.0 (rel: 1), tag v1 (annotated,
 * on release/1.0), pushed from work/. */
void gitfix_make(gitfix_t *g)
{
    snprintf(g->dir, sizeof(g->dir), "/tmp/it-cfggit-XXXXXX");
    assert_non_null(mkdtemp(g->dir));
    snprintf(g->work, sizeof(g->work), "%s/work", g->dir);
    snprintf(g->remote, sizeof(g->remote), "%s/remote.git", g->dir);
    snprintf(g->uri, sizeof(g->uri), "file://%s", g->remote);
    csit_sh(GIT " init -q --bare '%s' && " GIT " init -q '%s'", g->remote, g->work);
    csit_sh("cd '%s' && printf 'gen: 1\\nname: app\\n' > app.yml && printf 'shared: yes\\ngen2: 1\\n' > "
            "application.yml"
            " && printf 'a: 1\\n---\\nspring.config.activate.on-profile: dev\\na: 2\\n' > multi.yml"
            " && mkdir sub && echo 'hidden: 1' > sub/app.yml && ln -s /etc/passwd app-leak.yml"
            " && " GIT " add -A && " GIT " commit -qm one && " GIT " remote add origin '%s' && " GIT
            " push -q origin main 2>/dev/null",
            g->work, g->remote);
    csit_sh("cd '%s' && " GIT " checkout -qb release/1.0 && echo 'rel: 1' >> app.yml && " GIT
            " commit -qam rel && " GIT " tag -a v1 -m v1 && " GIT
            " push -q origin release/1.0 v1 2>/dev/null && " GIT " checkout -q main",
            g->work);
}

/* Commits `gen` into app.yml and application.yml (one commit: a torn read would show two
 * different generations) and pushes; force when `force` (history rewritten). */
void gitfix_commit(const gitfix_t *g, int gen, int force)
{
    csit_sh("cd '%s' && printf 'gen: %d\\nname: app\\n' > app.yml && printf 'shared: yes\\ngen2: %d\\n' > "
            "application.yml"
            " && %s && " GIT " push -q %s origin main 2>/dev/null",
            g->work, gen, gen, force ? GIT " commit -q --amend -am rewrite" : GIT " commit -qam next",
            force ? "--force" : "");
}

void gitfix_rm(gitfix_t *g)
{
    csit_sh("rm -rf '%s'", g->dir);
}

int csit_bg_ready(const char *cmd, const char *log)
{
    char out[32] = "";
    csit_sh_out(out, sizeof(out), "%s > '%s' 2>&1 < /dev/null & echo $!", cmd, log);
    int pid = atoi(out);
    assert_true(pid > 0);
    for (int i = 0; i < 100; i++) {
        char line[16] = "";
        FILE *f = fopen(log, "r");
        if (f != NULL) {
            if (fgets(line, sizeof(line), f) == NULL)
                line[0] = '\0';
            fclose(f);
        }
        if (strncmp(line, "ready", 5) == 0)
            return pid;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    fail_msg("%s did not get ready (log %s)", cmd, log);
    return -1;
}

/* gitconf.c — the git repositories from the options, files and environment (gitconf.h). */
#include "cli/gitconf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/secrets.h"
#include "git/gitpattern.h"

#define REPOS_FILE_MAX (1u << 20)

int cs_gitconf_multi(const cs_opts_t *o)
{
    return o->repo_uri != NULL && (o->git_repos_file != NULL || cs_gpat_templated(o->repo_uri));
}

int cs_gitconf_load(const cs_opts_t *o, const char *repo_real, cs_grepos_conf_t *out, const clog_t *log)
{
    memset(out, 0, sizeof(*out));
    if (o->git_repos_file == NULL)
        return 0;
    size_t len = 0;
    char err[512];
    char *text =
        cs_read_secret_text(o->git_repos_file, repo_real, "git repositories", REPOS_FILE_MAX, &len, log);
    if (text == NULL)
        return -1;
    int rc = cs_grepos_parse(text, len, out, err, sizeof(err));
    cs_secret_free(text, REPOS_FILE_MAX + 2);
    if (rc != 0) {
        clog_error(log, "--git-repos-file %s: %s", o->git_repos_file, err);
        return -1;
    }
    for (size_t i = 0; i < out->n; i++) {
        cs_grepo_conf_t *r = &out->v[i];
        if (r->password_file == NULL)
            continue;
        char buf[4096];
        long n = cs_read_secret_file(r->password_file, repo_real, "git password", buf, sizeof(buf), log);
        if (n < 0)
            return -1;
        if (n > 0 && buf[n - 1] == '\n')
            buf[--n] = '\0';
        r->password = strdup(buf);
        OPENSSL_cleanse(buf, sizeof(buf));
        if (r->password == NULL)
            return -1;
    }
    clog_info(log, "git: %zu repositories besides the default one, from %s", out->n, o->git_repos_file);
    return 0;
}

int cs_gitconf_cred(const char *repo_real, cs_gitm_cred_t *out, const clog_t *log)
{
    int bad = 0;
    out->user = cs_env_dup("CONFIG_SERVER_GIT_USERNAME");
    out->pass = cs_env_secret("CONFIG_SERVER_GIT_PASSWORD", repo_real, log, &bad);
    out->ssh_key = cs_env_dup("CONFIG_SERVER_GIT_SSH_KEY_FILE");
    out->known_hosts = cs_env_dup("CONFIG_SERVER_GIT_SSH_KNOWN_HOSTS");
    out->proxy = cs_env_secret("CONFIG_SERVER_GIT_PROXY", repo_real, log, &bad);
    out->ca_file = cs_env_dup("CONFIG_SERVER_GIT_CA_FILE");
    if (bad)
        cs_gitm_cred_free(out);
    return bad ? -1 : 0;
}

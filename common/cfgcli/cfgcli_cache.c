/* cfgcli_cache.c — the config client's last-known-good cache file.
 *
 * After every successful fetch the raw JSON Environment is saved (atomically: temp file in
 * the same directory, fsync, rename; mode 0600 because it may hold passwords) together with
 * the app/profiles/label it answers. When no config server answers, cfgcli_fetch loads it,
 * re-applies env overrides and placeholders against the current env, and logs a warning.
 */
#include "cfgcli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CFGCLI_CACHE_FORMAT "cfgcli-cache/1"

int cfgcli_cache_write(const cfgcli_opts_t *o, const json_t *doc, const char *url, char *err, size_t errlen);
cfgcli_t *cfgcli_cache_load(const cfgcli_opts_t *o, const clog_t *log, char *err, size_t errlen);

/* Makes the rename durable: fsync of the directory holding `path` (best effort). */
static void fsync_dir(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int cfgcli_cache_write(const cfgcli_opts_t *o, const json_t *doc, const char *url, char *err, size_t errlen)
{
    int rc = -1, fd = -1;
    char *text = NULL;
    char tmp[sizeof o->cache_file + 16];
    json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:O}", "format", CFGCLI_CACHE_FORMAT, "app",
                             o->app, "profiles", o->profiles, "label", o->label, "url", url, "saved_at",
                             (json_int_t)time(NULL), "environment", (json_t *)doc);
    if (root == NULL || (text = json_dumps(root, JSON_INDENT(1))) == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto cleanup;
    }
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", o->cache_file);
    fd = mkstemp(tmp);
    if (fd < 0) {
        errbuf_set(err, errlen, "%s: %s", tmp, strerror(errno));
        tmp[0] = '\0';
        goto cleanup;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            errbuf_set(err, errlen, "%s: write: %s", tmp, strerror(errno));
            goto cleanup;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        errbuf_set(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (close(fd) != 0) {
        fd = -1;
        errbuf_set(err, errlen, "%s: close: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, o->cache_file) != 0) {
        errbuf_set(err, errlen, "rename %s → %s: %s", tmp, o->cache_file, strerror(errno));
        goto cleanup;
    }
    tmp[0] = '\0';
    fsync_dir(o->cache_file);
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp[0])
        unlink(tmp);
    free(text);
    json_decref(root);
    return rc;
}

static int same(const json_t *root, const char *field, const char *want)
{
    const json_t *v = json_object_get(root, field);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

cfgcli_t *cfgcli_cache_load(const cfgcli_opts_t *o, const clog_t *log, char *err, size_t errlen)
{
    cfgcli_t *c = NULL;
    json_error_t je;
    char origin[sizeof o->cache_file + 8];
    json_t *root = json_load_file(o->cache_file, 0, &je);
    if (root == NULL) {
        if (access(o->cache_file, F_OK) != 0)
            errbuf_set(err, errlen, "%s: %s", o->cache_file, strerror(errno));
        else
            errbuf_set(err, errlen, "%s: unreadable (%s)", o->cache_file, je.text);
        goto cleanup;
    }
    if (!same(root, "format", CFGCLI_CACHE_FORMAT)) {
        errbuf_set(err, errlen, "%s: not a config cache file (format %s expected)", o->cache_file,
                   CFGCLI_CACHE_FORMAT);
        goto cleanup;
    }
    if (!same(root, "app", o->app) || !same(root, "profiles", o->profiles) ||
        !same(root, "label", o->label)) {
        errbuf_set(err, errlen, "%s: holds another app/profiles/label than %s/%s/%s", o->cache_file, o->app,
                   o->profiles, o->label[0] ? o->label : "(default)");
        goto cleanup;
    }
    snprintf(origin, sizeof origin, "cache:%s", o->cache_file);
    c = cfgcli_build(o, json_object_get(root, "environment"), origin, "cache:", err, errlen);
    if (c == NULL)
        goto cleanup;
    c->from_cache = 1;
    if (log) {
        const json_t *url = json_object_get(root, "url");
        json_int_t saved = json_integer_value(json_object_get(root, "saved_at"));
        clog_ev(log, CLOG_WARN,
                json_pack("{s:s, s:s, s:I}", "cache_file", o->cache_file, "cached_from",
                          json_is_string(url) ? json_string_value(url) : "?", "age_s",
                          (json_int_t)time(NULL) - saved),
                "no config server answered: using the last-known-good cached configuration");
    }
cleanup:
    json_decref(root);
    return c;
}

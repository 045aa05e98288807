/* knownhosts.c — ssh host key verification against known_hosts (knownhosts.h). */
#include "git/knownhosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "errbuf.h"

/* 1 when the comma list `hosts` names `host`:`port`: "host" or "[host]:22" for port 22,
 * exactly "[host]:port" for another port. */
static int host_listed(const char *hosts, const char *host, int port)
{
    char bracketed[600];
    snprintf(bracketed, sizeof(bracketed), "[%s]:%d", host, port);
    size_t hl = strlen(host), bl = strlen(bracketed);
    for (const char *p = hosts; *p != '\0';) {
        size_t n = strcspn(p, ",");
        if (port == 22 && n == hl && strncmp(p, host, hl) == 0)
            return 1;
        if (n == bl && strncmp(p, bracketed, bl) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

int cs_khosts_uri_port(const char *uri)
{
    if (strncmp(uri, "ssh://", 6) != 0 && strncmp(uri, "git+ssh://", 10) != 0)
        return 22;
    const char *h = strstr(uri, "://") + 3;
    const char *end = h + strcspn(h, "/");
    const char *at = memchr(h, '@', (size_t)(end - h));
    if (at != NULL)
        h = at + 1;
    const char *colon = NULL;
    if (*h == '[') { /* [v6]:port */
        const char *rb = memchr(h, ']', (size_t)(end - h));
        colon = rb != NULL && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else
        colon = memchr(h, ':', (size_t)(end - h));
    if (colon == NULL)
        return 22;
    int port = atoi(colon + 1);
    return port > 0 && port < 65536 ? port : 22;
}

/* 1 when base64 `b64` decodes to exactly `key`. */
static int key_equal(const char *b64, const char *key, size_t len)
{
    size_t bl = strlen(b64);
    unsigned char *raw = malloc(bl + 4);
    if (raw == NULL)
        return 0;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)bl);
    int pad = bl >= 1 && b64[bl - 1] == '=' ? (bl >= 2 && b64[bl - 2] == '=' ? 2 : 1) : 0;
    int eq = n >= 0 && (size_t)(n - pad) == len && memcmp(raw, key, len) == 0;
    free(raw);
    return eq;
}

int cs_khosts_check(const char *file, const char *host, int port, const char *key, size_t len, char *why,
                    size_t whylen)
{
    char path[4096];
    if (file == NULL) {
        const char *home = getenv("HOME");
        snprintf(path, sizeof(path), "%s/.ssh/known_hosts", home != NULL ? home : "");
        file = path;
    }
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        errbuf_set(why, whylen,
                   "cannot read the ssh known_hosts file %s: the host key of %s cannot be verified (set "
                   "CONFIG_SERVER_GIT_SSH_KNOWN_HOSTS)",
                   file, host);
        return -1;
    }
    char line[16384];
    int listed = 0, ok = 0;
    while (!ok && fgets(line, sizeof(line), f) != NULL) {
        char *save = NULL;
        char *hosts = strtok_r(line, " \t\r\n", &save);
        if (hosts == NULL || hosts[0] == '#' || hosts[0] == '|' || hosts[0] == '@')
            continue;
        char *type = strtok_r(NULL, " \t\r\n", &save);
        char *b64 = strtok_r(NULL, " \t\r\n", &save);
        if (type == NULL || b64 == NULL || !host_listed(hosts, host, port))
            continue;
        listed = 1;
        ok = key_equal(b64, key, len);
    }
    fclose(f);
    if (ok)
        return 0;
    errbuf_set(why, whylen,
               listed ? "the ssh host key of %s (port %d) does not match %s: refusing the connection"
                      : "the ssh host %s (port %d) is not in %s: add its key (ssh-keyscan) to verify it",
               host, port, file);
    return -1;
}

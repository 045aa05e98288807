/* guard.c — identifying config-server's clients from Basic credentials or a client
 * certificate, with logged and rate-limited failures (guard.h). */
#include "http/guard.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int cs_guard_send_401(h2o_req_t *req, const char *detail)
{
    httpd_add_header(req, "WWW-Authenticate", "Basic realm=\"config-server\", charset=\"UTF-8\"");
    return httpd_send_problem(req, 401, "Unauthorized", "%s", detail);
}

int cs_guard_is_admin(const cs_access_t *a, const cs_client_t *who, int open_ok)
{
    return a->open ? open_ok : who != NULL && who->admin;
}

/* The peer's address: raw bytes (for the rate limit) and text (for the log). */
static size_t peer_addr(h2o_req_t *req, unsigned char *raw, char *text, size_t tsize)
{
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    snprintf(text, tsize, "?");
    if (sl == 0)
        return 0;
    getnameinfo((struct sockaddr *)&ss, sl, text, (socklen_t)tsize, NULL, 0, NI_NUMERICHOST);
    if (ss.ss_family == AF_INET) {
        memcpy(raw, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        return 4;
    }
    if (ss.ss_family == AF_INET6) {
        memcpy(raw, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        return 16;
    }
    return 0;
}

/* A user name fit for the log: printable ASCII, at most 64 characters. */
static void log_name(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 1 < size && n < 64; p++)
        out[n++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
    out[n] = '\0';
}

static void log_failure(const clog_t *log, const char *addr, const char *user, const char *reason,
                        int blocked)
{
    if (log == NULL)
        return;
    char name[80];
    log_name(user, name, sizeof(name));
    clog_ev(log, CLOG_WARN,
            json_pack("{s:s,s:s,s:s,s:i}", "client_addr", addr, "user", name, "reason", reason, "blocked_s",
                      blocked),
            blocked > 0 ? "authentication failed (%s); the address is refused for %d s"
                        : "authentication failed (%s)",
            reason, blocked);
}

/* Decodes "Basic <base64>" into user and password (NUL-terminated in buf). 0 or -1. */
static int parse_basic(const char *h, char *buf, size_t size, char **user, char **pw, size_t *pwlen)
{
    if (strncasecmp(h, "Basic ", 6) != 0)
        return -1;
    const char *b = h + 6;
    while (*b == ' ')
        b++;
    size_t n = strlen(b);
    while (n > 0 && b[n - 1] == ' ')
        n--;
    if (n == 0 || n % 4 != 0 || n / 4 * 3 + 1 > size)
        return -1;
    int got = EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)b, (int)n);
    if (got < 0)
        return -1;
    got -= (b[n - 1] == '=') + (n > 1 && b[n - 2] == '=');
    buf[got] = '\0';
    char *colon = memchr(buf, ':', (size_t)got);
    if (colon == NULL || memchr(buf, '\0', (size_t)got) != NULL)
        return -1;
    *colon = '\0';
    *user = buf;
    *pw = colon + 1;
    *pwlen = (size_t)(buf + got - (colon + 1));
    return 0;
}

int cs_guard_identify(cs_access_t *a, h2o_req_t *req, const cs_client_t **who, const clog_t *log)
{
    *who = NULL;
    if (a->open)
        return 0;
    const char *auth = httpd_header(req, "authorization");
    if (auth == NULL) {
        char cn[256];
        if (httpd_client_cert_cn(req, cn, sizeof(cn)) == 1) {
            *who = cs_access_cert(a, cn);
            if (*who == NULL && log != NULL) {
                char name[80];
                log_name(cn, name, sizeof(name));
                clog_ev(log, CLOG_INFO, json_pack("{s:s}", "cn", name),
                        "a client certificate (CN %s) that is no client with certificate: true; anonymous",
                        name);
            }
        }
        return 0;
    }
    unsigned char raw[16];
    char addr[64], buf[2100];
    size_t alen = peer_addr(req, raw, addr, sizeof(addr));
    char *user = NULL, *pw = NULL;
    size_t pwlen = 0;
    int retry = 0, st;
    const char *reason = "";
    if (parse_basic(auth, buf, sizeof(buf), &user, &pw, &pwlen) != 0) {
        retry = cs_ratelimit_fail(&a->rl, raw, alen, time(NULL));
        log_failure(log, addr, "", "malformed Authorization header (Basic user:password expected)", retry);
        OPENSSL_cleanse(buf, sizeof(buf));
        cs_guard_send_401(req, "valid HTTP Basic credentials are required");
        return -1;
    }
    st = cs_access_basic(a, user, pw, pwlen, raw, alen, who, &reason, &retry);
    if (st == 401)
        log_failure(log, addr, user, reason, retry);
    else if (st == 429 && log != NULL) /* refused unchecked: not worth a line each */
        clog_debug(log, "authentication refused unchecked (%s) for %s", reason, addr);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (st == 429) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", retry > 0 ? retry : 1);
        httpd_add_header(req, "Retry-After", ra);
        httpd_send_problem(req, 429, "Too Many Requests", "%s; try again in %s s", reason, ra);
        return -1;
    }
    if (st != 0) {
        cs_guard_send_401(req, "valid HTTP Basic credentials are required");
        return -1;
    }
    return 0;
}

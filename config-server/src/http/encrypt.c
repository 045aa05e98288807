/* encrypt.c — Spring Cloud Config's POST /encrypt and /decrypt (also /{name}/{profiles}
 * variants) and GET /key. The key is chosen per text as Spring's locators choose it
 * (crypto/keys.h): the text's {key:alias}/{secret:…} prefixes with a key store, else the one
 * key; the application and profiles are validated but choose nothing.
 *
 * The body is the text. Spring reads it through Spring MVC, which matters for curl's
 * default `-d` (application/x-www-form-urlencoded): the servlet parses the body as form
 * parameters and Spring re-encodes them (`name=value&…`, URLEncoder), then its
 * EncryptionController.stripFormData undoes that: a trailing "=" is URL-decoded away
 * unless the type is exactly text/plain, and for /decrypt blanks turn back into "+"
 * and a hex or base64 cipher loses the extra "=". All of that is reproduced here, so
 * `curl -d secret …/encrypt` gives the same text as against Spring.
 *
 * Authentication (our choice; Spring leaves it to Spring Security): both endpoints need an
 * admin client (http/guard.h). Without configured credentials they answer 403, so a server
 * that serves configuration openly never becomes an open decryption oracle.
 * Errors are Spring's JSON {"description","status"}: NO_KEY 404, INVALID 400.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "crypto/keys.h"
#include "dbuf.h"
#include "hexdig.h"
#include "http/form.h"
#include "http/guard.h"
#include "http/routes.h"

#define TEXT_PLAIN "text/plain;charset=UTF-8"

/* 1 when the Content-Type is exactly text/plain (no parameters), as MediaType.equals. */
static int exactly_text_plain(const char *ct)
{
    while (*ct == ' ')
        ct++;
    size_t n = strlen(ct);
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    return n == 10 && strncasecmp(ct, "text/plain", 10) == 0;
}

/* java.net.URLEncoder.encode(s, UTF-8) appended to out. */
static int url_encode(const char *s, size_t n, dbuf_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
            c == '-' || c == '*' || c == '_')
            rc = dbuf_add(out, &s[i], 1);
        else if (c == ' ')
            rc = dbuf_add(out, "+", 1);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = dbuf_add(out, e, 3);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

typedef struct fparam {
    char *name, *value;
} fparam_t;

/* The servlet's form parameters, grouped by name in first-seen order and re-encoded as
 * Spring's ServletServerHttpRequest writes them back: name=value&… 0 or -1. */
static int rebuild_form(const char *body, size_t len, dbuf_t *out)
{
    fparam_t ps[256];
    size_t np = 0;
    int rc = -1;
    for (size_t i = 0; i < len && np < sizeof(ps) / sizeof(ps[0]);) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            const char *eq = memchr(body + i, '=', end - i);
            size_t nl = eq != NULL ? (size_t)(eq - (body + i)) : end - i;
            dbuf_t n, v;
            dbuf_init(&n, 1u << 20);
            dbuf_init(&v, 1u << 20);
            if (cs_form_decode(body + i, nl, &n) != 0 ||
                (eq != NULL && cs_form_decode(eq + 1, (size_t)(body + end - eq - 1), &v) != 0)) {
                dbuf_free(&n);
                dbuf_free(&v);
                goto cleanup;
            }
            ps[np].name = dbuf_take(&n, NULL);
            ps[np].value = dbuf_take(&v, NULL);
            if (ps[np].name == NULL || ps[np].value == NULL) {
                free(ps[np].name);
                free(ps[np].value);
                goto cleanup;
            }
            np++;
        }
        i = end + 1;
    }
    int first = 1;
    for (size_t i = 0; i < np; i++) {
        size_t j = 0;
        while (j < i && strcmp(ps[j].name, ps[i].name) != 0)
            j++;
        if (j < i) /* already written with its group */
            continue;
        for (size_t k = i; k < np; k++) {
            if (strcmp(ps[k].name, ps[i].name) != 0)
                continue;
            if ((!first && dbuf_add(out, "&", 1) != 0) ||
                url_encode(ps[k].name, strlen(ps[k].name), out) != 0 || dbuf_add(out, "=", 1) != 0 ||
                url_encode(ps[k].value, strlen(ps[k].value), out) != 0)
                goto cleanup;
            first = 0;
        }
    }
    rc = 0;
cleanup:
    for (size_t i = 0; i < np; i++) {
        free(ps[i].name);
        free(ps[i].value);
    }
    return rc;
}

static int base64_ok(const char *s, size_t n)
{
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '/';
        if (c == '=')
            pad++;
        else if (!alpha || pad > 0)
            return 0;
    }
    return pad <= 2 && (n % 4 == 0 || (pad == 0 && n % 4 != 1));
}

/* EncryptionController.stripFormData: `data` (owned by the caller) → *out (malloc'ed). 0,
 * or -1 on a malformed %-escape. */
static int strip_form_data(const char *data, const char *ctype, int cipher, char **out)
{
    size_t n = strlen(data);
    *out = NULL;
    if (n == 0 || data[n - 1] != '=' || exactly_text_plain(ctype)) {
        *out = strdup(data);
        return 0;
    }
    dbuf_t d;
    dbuf_init(&d, 1u << 20);
    if (cs_form_decode(data, n, &d) != 0) {
        dbuf_free(&d);
        return -1;
    }
    char *s = dbuf_take(&d, &n);
    if (s == NULL)
        return -1;
    if (cipher) {
        for (char *p = s; *p; p++)
            if (*p == ' ')
                *p = '+';
        if (n > 0 && s[n - 1] == '=' && n % 2 == 1 && (hexdig_even(s, n - 1) || base64_ok(s, n - 1)))
            s[n - 1] = '\0';
    } else if (n > 0) {
        s[n - 1] = '\0';
    }
    *out = s;
    return 0;
}

int cs_http_encrypt(void *ctx, h2o_req_t *req)
{
    cs_http_t *h = ctx;
    const char *path = httpd_path(req);
    int decrypt = strncmp(path, "/decrypt", 8) == 0;
    const char *rest = path + 8;
    char *input = NULL;
    cs_keysel_t sel = {0};
    dbuf_t data, out;
    dbuf_init(&data, 1u << 20);
    dbuf_init(&out, 1u << 21);
    if (*rest != '\0') { /* /{name}/{profiles}: validated, the key is the same for all */
        char a[256], p[1100];
        const char *slash = rest[0] == '/' ? strchr(rest + 1, '/') : NULL;
        if (slash == NULL || cs_path_decode(rest + 1, (size_t)(slash - rest - 1), a, sizeof(a)) != 0 ||
            cs_path_decode(slash + 1, strlen(slash + 1), p, sizeof(p)) != 0 || !cs_path_apps_ok(a) ||
            !cs_path_profiles_ok(p)) {
            httpd_send_problem(req, 404, "Not Found", "expected POST /%s or /%s/{application}/{profiles}",
                               decrypt ? "decrypt" : "encrypt", decrypt ? "decrypt" : "encrypt");
            goto done;
        }
    }
    if (h->access->open) {
        httpd_send_problem(
            req, 403, "Forbidden",
            "POST /encrypt and /decrypt need an admin client: start config-server with --credentials-file "
            "(or CONFIG_SERVER_USER and CONFIG_SERVER_PASSWORD)");
        goto done;
    }
    const cs_client_t *who = NULL;
    if (cs_guard_identify(h->access, req, &who, h->log) != 0)
        goto done; /* answered: 401 or 429 */
    if (who == NULL) {
        cs_guard_send_401(req, "POST /encrypt and /decrypt need an admin client's credentials");
        goto done;
    }
    if (!who->admin) {
        httpd_send_problem(req, 403, "Forbidden", "client %s is no admin: /encrypt and /decrypt need one",
                           who->name);
        goto done;
    }
    if (h->keys == NULL) {
        cs_http_send_crypt_error(req, 404, "NO_KEY", "No key was installed for encryption service");
        goto done;
    }
    const char *ctype = httpd_header(req, "content-type");
    if (ctype == NULL) {
        httpd_send_problem(req, 400, "Bad Request", "a Content-Type header is required (text/plain)");
        goto done;
    }
    int rc = cs_form_is(ctype) ? rebuild_form(req->entity.base, req->entity.len, &data)
                               : dbuf_add(&data, req->entity.base, req->entity.len);
    if (rc != 0 || dbuf_len(&data) == 0 || memchr(dbuf_ptr(&data), '\0', dbuf_len(&data)) != NULL) {
        if (decrypt && rc != 0)
            cs_http_send_crypt_error(req, 400, "INVALID", "Text not encrypted with this key");
        else
            httpd_send_problem(req, 400, "Bad Request", "%s",
                               rc != 0 ? "the form body has a malformed %-escape"
                                       : "the body must be the text (not empty, no NUL)");
        goto done;
    }
    if (decrypt) { /* the key from the body as posted, the cipher after stripping the form */
        const char *d = dbuf_ptr(&data);
        if (cs_keys_locate(h->keys, d, &sel) == CS_CIPHER_NO_ALIAS) { /* Spring: a key pair without keys */
            cs_http_send_crypt_error(req, 400, "BAD_REQUEST", "Server-side decryption is not supported");
            goto done;
        }
        if (sel.k == NULL || (sel.priv == NULL && sel.k->kind != CS_KEYS_SYMMETRIC) ||
            strip_form_data(d + cs_cipher_prefix_len(d), ctype, 1, &input) != 0 || input == NULL ||
            cs_keys_decrypt(&sel, input, strlen(input), &out) != CS_CIPHER_OK) {
            cs_http_send_crypt_error(req, 400, "INVALID", "Text not encrypted with this key");
            goto done;
        }
    } else {
        if (strip_form_data(dbuf_ptr(&data), ctype, 0, &input) != 0 || input == NULL) {
            httpd_send_problem(req, 400, "Bad Request", "the form body has a malformed %%-escape");
            goto done;
        }
        cs_cipher_rc_t lrc = cs_keys_locate(h->keys, input, &sel);
        if (lrc != CS_CIPHER_OK) {
            httpd_send_problem(req, 400, "Bad Request", "cannot encrypt: %s", cs_cipher_reason(lrc));
            goto done;
        }
        size_t pl = cs_cipher_prefix_len(input);
        if (cs_cipher_prefix_keys(input, &out) != 0 ||
            cs_keys_encrypt(&sel, input + pl, strlen(input + pl), &out) != 0) {
            httpd_send_problem(req, 500, "Internal Server Error", "encryption failed");
            goto done;
        }
    }
    httpd_send(req, 200, TEXT_PLAIN, dbuf_ptr(&out), dbuf_len(&out));
done: /* plain texts do not linger in freed memory */
    cs_keys_release(&sel);
    if (input != NULL) {
        OPENSSL_cleanse(input, strlen(input));
        free(input);
    }
    if (data.ptr != NULL)
        OPENSSL_cleanse(data.ptr, data.size);
    if (out.ptr != NULL)
        OPENSSL_cleanse(out.ptr, out.size);
    dbuf_free(&data);
    dbuf_free(&out);
    return 0;
}

int cs_http_send_key(cs_http_t *h, h2o_req_t *req)
{
    cs_keysel_t sel;
    dbuf_t out;
    dbuf_init(&out, 1u << 16);
    if (cs_keys_locate(h->keys, "", &sel) == CS_CIPHER_OK && cs_keys_public(&sel, &out) == 0)
        httpd_send(req, 200, TEXT_PLAIN, dbuf_ptr(&out), dbuf_len(&out));
    else
        cs_http_send_crypt_error(req, 404, "NOT_FOUND", "No public key available");
    cs_keys_release(&sel);
    dbuf_free(&out);
    return 0;
}

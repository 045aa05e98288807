/* plaintext.h — Spring Cloud Config's "serving plain text": any file of the repository
 * (logback.xml, nginx.conf, a certificate) for an application, profiles and label:
 *
 *   GET /{app}/{profiles}/{label}/{path…}
 *   GET /{app}/{profiles}/{path…}?useDefaultLabel
 *
 * Resolution, as Spring's GenericResourceRepository: the locations of the label in order —
 * the snapshot's root, then (folder backend) the label's overlay directory — and in each
 * location the candidates of `path` for the profiles (cs_text_candidates): for each
 * profile in the order given `name-{profile}.ext` (the path itself for `default`), then
 * the path. The first that exists is served; none is 404 naming the file and the
 * candidates tried. A git label is a commit: the file is read from that commit's tree, so
 * any branch, tag or commit id serves its own version of it.
 *
 * Text files (valid UTF-8 without NUL) get their `${key:default}` placeholders resolved
 * against the effective environment of the application, profiles and label (the merged
 * sources of the environment endpoints, {cipher} values decrypted), as Spring's
 * Environment.resolvePlaceholders: nested placeholders and defaults are resolved, an
 * unresolvable placeholder without a default is left as it is, `\${` is a literal `${`, a
 * cycle is 400 naming the key. `?resolvePlaceholders=false` serves the text unchanged.
 * Binary files (or any file asked for with `Accept: application/octet-stream`, Spring's
 * binary endpoint) are served byte for byte as application/octet-stream.
 *
 * Content-Type by extension (cs_text_ctype): XML, JSON, YAML, TOML, CSV; anything else
 * text/plain; charset=utf-8. Every answer carries an ETag (a hash of the body) and
 * `X-Content-Type-Options: nosniff`; If-None-Match answers 304.
 */
#ifndef CS_PLAINTEXT_H
#define CS_PLAINTEXT_H

#include <stddef.h>

#include "env/environment.h"
#include "http/routes.h"

#define CS_TEXT_MAX_CANDIDATES (CS_ENV_MAX_PROFILES + 1)
#define CS_TEXT_CAND_MAX (CS_TEXT_PATH_MAX + CS_PATH_NAME_MAX + 2)

/* Spring's file names to try for `path` with the comma list `profiles`, in order, each
 * once: per profile `stem-{profile}.ext` ("default": `path`), then `path`. The extension
 * is the last "."-part of the last component ("conf.d/nginx" has none). Returns how many
 * were written to out[0..max). */
size_t cs_text_candidates(const char *profiles, const char *path, char (*out)[CS_TEXT_CAND_MAX], size_t max);

/* The Content-Type of a text file named `path` (static). */
const char *cs_text_ctype(const char *path);

/* 1 when `buf` (len bytes) is no text: it holds a NUL or is not valid UTF-8. */
int cs_text_is_binary(const char *buf, size_t len);

/* What one plain-text request resolves to. */
typedef struct cs_text_answer {
    int status;                                         /* 200, or a problem's status */
    const char *title;                                  /* problem title (static) */
    char detail[2048];                                  /* problem detail */
    const char *ctype;                                  /* 200: static */
    char *body;                                         /* 200: owned */
    size_t len;                                         /* bytes of body */
    char file[CS_TEXT_CAND_MAX + CS_PATH_NAME_MAX + 2]; /* 200: the repository path served */
    char etag[40];                                      /* 200: "\"<32 hex>\"" */
} cs_text_answer_t;

/* Evaluates the plain-text request `r` (kind CS_REQ_TEXT, after the access check) against
 * the store of `h`: `raw` serves the bytes as they are (Accept: application/octet-stream),
 * `resolve` resolves placeholders in text files. Always fills `a`; free with
 * cs_text_answer_free. */
void cs_text_eval(cs_http_t *h, const cs_req_t *r, int raw, int resolve, cs_text_answer_t *a);
void cs_text_answer_free(cs_text_answer_t *a);

/* Answers the plain-text request `r` on `req` (status, ETag, 304 on If-None-Match);
 * `resolve` 0 for ?resolvePlaceholders=false. Returns 0. */
int cs_http_text(cs_http_t *h, h2o_req_t *req, const cs_req_t *r, int resolve);

#endif

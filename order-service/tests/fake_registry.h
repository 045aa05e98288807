/* fake_registry.h — an in-process fake of a Confluent-API schema registry for order-service's
 * tests (an httpd server on a free loopback port): GET /schemas/ids/2 answers the schema text
 * it was given, any other id 404 with error code 40403 (no such id), everything 503 while
 * `down` is set; `gets` counts the lookups. */
#ifndef OS_FAKE_REGISTRY_H
#define OS_FAKE_REGISTRY_H

#include <stddef.h>
#include <stdatomic.h>

#include "httpd.h"

typedef struct fake_reg {
    const char *text; /* id 2's schema (not owned: the caller keeps it alive) */
    atomic_int down;  /* answer 503 to everything */
    atomic_int gets;  /* lookups served */
    httpd_t *srv;     /* owned */
} fake_reg_t;

/* Starts the fake with id 2 = `text`; its URL is http://127.0.0.1:<httpd_port(r->srv)>.
 * 0, or -1 with err filled. */
int fake_reg_start(fake_reg_t *r, const char *text, char *err, size_t errlen);
/* Stops it (r->srv freed). */
void fake_reg_stop(fake_reg_t *r);

#endif

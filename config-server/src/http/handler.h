/* handler.h — config-server's GET handler: /actuator/health (also /health), the Spring
 * encryption status and key endpoints, every environment form (routes.h has the URL
 * grammar), answered through the watch API (watchreq.h), and plain-text files
 * (plaintext.h), each read under the same access check.
 */
#ifndef CS_HANDLER_H
#define CS_HANDLER_H

#include "http/routes.h"

/* httpd handler for every GET (ctx = cs_http_t *). */
int cs_http_handle(void *ctx, h2o_req_t *req);

#endif

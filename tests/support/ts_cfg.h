/* ts_cfg.h — test support for unit tests of code that reads the configuration: a cfgcli_t
 * made from properties as the config-server would serve them (one property source), no
 * network.
 */
#ifndef CQ_TS_CFG_H
#define CQ_TS_CFG_H

#include "cfgcli.h"

/* `props`: the members of the property source's "source" object, JSON text without the
 * braces ("\"server.port\":1,\"a\":\"b\""). `envp`: the environment the client reads its
 * overrides from, NULL for none. The caller owns the result (cfgcli_free); a document
 * cfgcli refuses fails the current cmocka test. */
cfgcli_t *ts_cfg_doc(const char *props, char *const *envp);

#endif

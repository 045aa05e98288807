/* svc_kafka.h — the Kafka part of the glue both services share: the client settings every
 * librdkafka handle of a service is made from (kfk_client_t, common/kafka/kfk.h), read from
 * the configuration in one place, and the start-up check that turns refused credentials or
 * certificates into a clear error. Kept apart so config-server links no librdkafka.
 */
#ifndef CQ_SVC_KAFKA_H
#define CQ_SVC_KAFKA_H

#include <stddef.h>

#include "cfgcli.h"
#include "clog.h"
#include "kfk.h"

/* Fills *cl from kafka-config.bootstrap-servers (`dflt` when absent; NULL: required, -1
 * naming it when absent) and
 * every kafka-config.properties.<librdkafka key> — the shared section applied to every
 * handle of the service (producer, consumers, the takeover scan, the dead-letter producer,
 * the admin client): security.protocol, sasl.mechanisms, sasl.username, sasl.password,
 * ssl.ca.location, ssl.certificate.location, ssl.key.location, … The security keys are also
 * read when only an environment variable sets them (KAFKA_CONFIG_PROPERTIES_SASL_PASSWORD,
 * …), so a Secret can hold them. Strings borrowed from `c`. 0, or -1 with err. */
int svc_kafka_client(const cfgcli_t *c, const char *dflt, kfk_client_t *cl, char *err, size_t errlen);

/* At start-up, when the settings ask for a secured connection (kfk_client_secured): a client
 * made from `conf` (STOLEN) connects for at most timeout_ms (kfk_check). Refused (SASL
 * authentication or TLS) → -1 with the reason in err: the caller stops with
 * CFGCLI_EXIT_CONFIG. Connected or no answer (the cluster may simply be away: the services
 * wait for it) → 0, logging the outcome. A plaintext set-up is not checked (0). */
int svc_kafka_check(const kfk_client_t *cl, rd_kafka_conf_t *conf, kfk_role_t role, int timeout_ms,
                    const clog_t *log, char *err, size_t errlen);

#endif

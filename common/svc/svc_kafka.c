/* svc_kafka.c — the shared Kafka client settings from the configuration and the start-up
 * check. See svc_kafka.h. */
#include "svc_kafka.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"

#define SVC_KAFKA_PROPS "kafka-config.properties."

typedef struct svc_kafka_acc {
    const cfgcli_t *c;
    kfk_client_t *cl;
    char *err;
    size_t errlen;
} svc_kafka_acc_t;

static int svc_kafka_collect(void *ud, const char *key, const char *rest, const char *value,
                             const char *source)
{
    svc_kafka_acc_t *a = ud;
    (void)source;
    if (*rest == '\0')
        return 0;
    /* the value in effect (an env var may override the served one) */
    return kfk_client_add(a->cl, rest, cfgcli_get_str(a->c, key, value), a->err, a->errlen) != 0;
}

int svc_kafka_client(const cfgcli_t *c, const char *dflt, kfk_client_t *cl, char *err, size_t errlen)
{
    /* keys an env var alone may set (a Secret), looked up by name: foreach lists served keys */
    static const char *const secured[] = {
        "security.protocol",
        "sasl.mechanisms",
        "sasl.mechanism",
        "sasl.username",
        "sasl.password",
        "ssl.ca.location",
        "ssl.certificate.location",
        "ssl.key.location",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
    };
    svc_kafka_acc_t acc = {c, cl, err, errlen};
    memset(cl, 0, sizeof *cl);
    if (dflt != NULL)
        cl->bootstrap = cfgcli_get_str(c, "kafka-config.bootstrap-servers", dflt);
    else if (cfgcli_require_str(c, "kafka-config.bootstrap-servers", &cl->bootstrap, err, errlen) != 0)
        return -1;
    if (cfgcli_foreach_prefix(c, SVC_KAFKA_PROPS, svc_kafka_collect, &acc) != 0)
        return -1;
    for (size_t i = 0; i < sizeof secured / sizeof secured[0]; i++) {
        char key[128];
        snprintf(key, sizeof key, SVC_KAFKA_PROPS "%s", secured[i]);
        const char *v = kfk_client_get(cl, secured[i]) ? NULL : cfgcli_get_str(c, key, NULL);
        if (v != NULL && kfk_client_add(cl, secured[i], v, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int svc_kafka_check(const kfk_client_t *cl, rd_kafka_conf_t *conf, kfk_role_t role, int timeout_ms,
                    const clog_t *log, char *err, size_t errlen)
{
    char e[1024];
    const char *mech;
    if (!kfk_client_secured(cl)) {
        if (conf != NULL)
            rd_kafka_conf_destroy(conf);
        return 0;
    }
    switch (kfk_check(conf, role, timeout_ms, e, sizeof e)) {
    case KFK_CHECK_OK:
        clog_info(log, "Kafka: connected over %s to %s", kfk_client_get(cl, "security.protocol"),
                  cl->bootstrap);
        return 0;
    case KFK_CHECK_NO_ANSWER:
        clog_warn(log, "Kafka: %s; going on (the cluster may be starting)", e);
        return 0;
    default:
        /* librdkafka before 2.6.1 repeats the client nonce in its SCRAM client-final message;
         * brokers that check it as RFC 5802 says (Kafka 4.x; 3.7.2, 3.8.1, 3.9 and later)
         * refuse every SCRAM login of such a client, whatever the password */
        mech = kfk_client_get(cl, "sasl.mechanisms") ? kfk_client_get(cl, "sasl.mechanisms")
                                                     : kfk_client_get(cl, "sasl.mechanism");
        if (mech != NULL && strncasecmp(mech, "SCRAM", 5) == 0 && rd_kafka_version() < 0x020601ff &&
            strstr(e, "authentication failed") != NULL)
            errbuf_set(err, errlen,
                       "%s — note: this build's librdkafka %s cannot log in with SCRAM to brokers that "
                       "check the SCRAM nonce strictly (Kafka 4.x; 3.7.2, 3.8.1, 3.9 and later), even with "
                       "the right password: use sasl.mechanisms PLAIN over SASL_SSL with them, or build "
                       "on librdkafka 2.6.1 or later",
                       e, rd_kafka_version_str());
        else
            errbuf_set(err, errlen, "%s", e);
        return -1;
    }
}

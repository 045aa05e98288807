/* kfk_client.c — the shared client settings (kfk_client_t: the properties every handle of
 * a service gets) and the start-up checks that tell an unreachable cluster from one that
 * refuses our credentials or certificate (kfk_check, kfk_probe). Builds on kfk.c and calls
 * nothing else of the module. See kfk.h. */
#include "kfk.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"

int kfk_client_add(kfk_client_t *cl, const char *key, const char *value, char *err, size_t errlen)
{
    if (cl == NULL || key == NULL || value == NULL || *key == '\0') {
        errbuf_set(err, errlen, "kafka-config.properties: empty key or value");
        return -1;
    }
    for (size_t i = 0; i < cl->nprops; i++) {
        if (strcmp(cl->props[i].key, key) == 0) {
            cl->props[i].value = value;
            return 0;
        }
    }
    if (cl->nprops == KFK_MAX_PROPS) {
        errbuf_set(err, errlen, "kafka-config.properties: more than %d properties (at %s)", KFK_MAX_PROPS,
                   key);
        return -1;
    }
    cl->props[cl->nprops].key = key;
    cl->props[cl->nprops].value = value;
    cl->nprops++;
    return 0;
}

const char *kfk_client_get(const kfk_client_t *cl, const char *key)
{
    for (size_t i = 0; cl != NULL && key != NULL && i < cl->nprops; i++)
        if (strcmp(cl->props[i].key, key) == 0)
            return cl->props[i].value;
    return NULL;
}

int kfk_client_secured(const kfk_client_t *cl)
{
    const char *p = kfk_client_get(cl, "security.protocol");
    return p != NULL && *p != '\0' && strcasecmp(p, "plaintext") != 0;
}

/* What the check's handle reports: the first refusal seen (librdkafka's error events). */
typedef struct kfk_check_state {
    kfk_opaque_t op; /* first: kfk_user/kfk_log read the opaque as a kfk_opaque_t (log NULL: silent) */
    int refused;     /* 0, or the error code of a refusal */
    char reason[512];
} kfk_check_state_t;

static void kfk_check_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kfk_check_state_t *st = opaque;
    (void)rk;
    if (st->refused != 0)
        return;
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) {
        st->refused = err;
        snprintf(st->reason, sizeof st->reason, "%s", reason ? reason : rd_kafka_err2str(err));
    }
}

int kfk_check(rd_kafka_conf_t *conf, kfk_role_t role, int timeout_ms, char *err, size_t errlen)
{
    kfk_check_state_t st = {{NULL, NULL}, 0, ""};
    char e[512], bs[512] = "", proto[64] = "", mech[64] = "";
    size_t bl = sizeof bs, pl = sizeof proto, ml = sizeof mech;
    if (conf == NULL) {
        errbuf_set(err, errlen, "no Kafka configuration");
        return KFK_CHECK_ERROR;
    }
    if (rd_kafka_conf_get(conf, "bootstrap.servers", bs, &bl) != RD_KAFKA_CONF_OK)
        snprintf(bs, sizeof bs, "?");
    if (rd_kafka_conf_get(conf, "security.protocol", proto, &pl) != RD_KAFKA_CONF_OK)
        snprintf(proto, sizeof proto, "?");
    if (rd_kafka_conf_get(conf, "sasl.mechanisms", mech, &ml) != RD_KAFKA_CONF_OK)
        snprintf(mech, sizeof mech, "?");
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_conf_set_error_cb(conf, kfk_check_error_cb);
    rd_kafka_t *rk =
        rd_kafka_new(role == KFK_CONSUMER ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        errbuf_set(err, errlen, "Kafka client: %s", e);
        return KFK_CHECK_ERROR;
    }
    /* Short metadata rounds, serving the error events between them: a refusal comes back
     * within a round trip, an absent cluster only at the deadline. */
    int rc = KFK_CHECK_NO_ANSWER;
    for (int waited = 0; waited < timeout_ms; waited += 250) {
        if (kfk_reachable(rk, 250)) {
            rc = KFK_CHECK_OK;
            break;
        }
        rd_kafka_poll(rk, 0);
        if (st.refused != 0) {
            rc = KFK_CHECK_REFUSED;
            break;
        }
    }
    rd_kafka_destroy(rk);
    if (rc == KFK_CHECK_REFUSED && st.refused == RD_KAFKA_RESP_ERR__AUTHENTICATION)
        errbuf_set(err, errlen,
                   "Kafka authentication failed (security.protocol %s, sasl.mechanisms %s, brokers %s): %s",
                   proto, mech, bs, st.reason);
    else if (rc == KFK_CHECK_REFUSED)
        errbuf_set(err, errlen, "Kafka TLS handshake failed (security.protocol %s, brokers %s): %s", proto,
                   bs, st.reason);
    else if (rc == KFK_CHECK_NO_ANSWER)
        errbuf_set(err, errlen, "no Kafka broker of %s answered within %d ms", bs, timeout_ms);
    return rc;
}

int kfk_probe(rd_kafka_conf_t *conf, kfk_role_t role, int timeout_ms, char *err, size_t errlen)
{
    return kfk_check(conf, role, timeout_ms, err, errlen) == KFK_CHECK_OK ? 0 : -1;
}

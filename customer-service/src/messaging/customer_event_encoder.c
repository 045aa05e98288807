/* customer_event_encoder.c — domain event → framed Avro. See customer_event_encoder.h. */
#include "messaging/customer_event_encoder.h"

#include <string.h>

static int enc_encode(void *self, const customer_event_t *ev, unsigned char **out, size_t *len)
{
    evcodec_customer_t a;
    if (ev->type == CUSTOMER_EV_DELETED)
        return -1; /* deletions are tombstones: no value to encode */
    memset(&a, 0, sizeof a);
    memcpy(a.id, ev->customer.id, sizeof a.id);
    a.username = (char *)ev->customer.username;
    a.first_name = (char *)ev->customer.first_name;
    a.last_name = (char *)ev->customer.last_name;
    a.version = ev->customer.version;
    a.event_type = ev->type == CUSTOMER_EV_CREATED ? EVCODEC_CREATED : EVCODEC_UPDATED;
    a.occurred_at_ms = ev->occurred_at_ms;
    return evcodec_encode_customer(self, &a, out, len) == EVCODEC_OK ? 0 : -1;
}

static const customer_encoder_ops_t enc_ops = {enc_encode};

customer_encoder_t customer_event_encoder_port(const evcodec_t *codec)
{
    return (customer_encoder_t){&enc_ops, (void *)codec};
}

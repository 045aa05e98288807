/* customer_event_encoder.h — the encoder port (application/customer_app.h) implemented
 * with the shared Avro codec (common/events/evcodec.h): domain event → Confluent-framed
 * CustomerAvroModel. */
#ifndef CS_CUSTOMER_EVENT_ENCODER_H
#define CS_CUSTOMER_EVENT_ENCODER_H

#include "application/customer_app.h"
#include "evcodec.h"

/* The port bound to `codec` (borrowed; thread-safe, see evcodec.h). */
customer_encoder_t customer_event_encoder_port(const evcodec_t *codec);

#endif

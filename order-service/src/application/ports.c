/* ports.c — helpers for the value types the ports exchange. See ports.h. */
#include "ports.h"

#include <stdlib.h>
#include <string.h>

void os_customer_clear(os_customer_t *c)
{
    if (c == NULL)
        return;
    free(c->username);
    free(c->first_name);
    free(c->last_name);
    memset(c, 0, sizeof *c);
}

void os_order_view_clear(os_order_view_t *v)
{
    if (v == NULL)
        return;
    free(v->failure_messages);
    memset(v, 0, sizeof *v);
}

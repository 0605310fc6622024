/*
 * Private to server/: what the gRPC listener and the /metrics listener share.
 */
#ifndef SIDIK_NET_INT_H
#define SIDIK_NET_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sidik/net.h"

/* "host:port" into an address: an IPv4 or IPv6 literal ([v6] allowed) or
 * localhost; port 0-65535. Returns 0 or SIDIK_EINVAL. */
int sidik__net_parse_listen(const char *s, struct sockaddr_storage *ss);

/* The shared limits (net_limits.c). open/close count every connection
 * accepted (false: over the total); admit/release count an identity's
 * (false: its share is used up). */
bool sidik__limits_open(sidik_net_limits *l);
void sidik__limits_close(sidik_net_limits *l);
bool sidik__limits_admit(sidik_net_limits *l, const sidik_identity *who);
void sidik__limits_release(sidik_net_limits *l, const sidik_identity *who);
uint32_t sidik__limits_per_client(const sidik_net_limits *l);

#endif

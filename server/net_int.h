/*
 * Private to server/: what the gRPC listener and the /metrics listener share.
 */
#ifndef SIDIK_NET_INT_H
#define SIDIK_NET_INT_H

#include <sys/socket.h>

/* "host:port" into an address: an IPv4 or IPv6 literal ([v6] allowed) or
 * localhost; port 0-65535. Returns 0 or SIDIK_EINVAL. */
int sidik__net_parse_listen(const char *s, struct sockaddr_storage *ss);

#endif

/*
 * The listener: TCP on a libuv loop, TLS 1.3 with mutual certificates
 * through memory BIOs, and one gRPC connection (sidik/h2.h) per client.
 *
 * Per connection: the handshake must finish within handshake_timeout (a
 * client that connects and stalls is cut, nothing read); the caller's
 * identity comes from its certificate (sidik/tls.h), and a connection
 * without one is closed before any HTTP/2 byte is looked at; a connection
 * with nothing to do for idle_timeout is closed; past max_connections new
 * connections are closed at once, and past max_connections_per_client a
 * client's new connection is closed right after its handshake (so one
 * certificate's connections, however slow or stuck, cannot crowd out the
 * others). When the bytes waiting to go out to a
 * client pass a limit, reading from it stops until they drain, so a client
 * that does not read its answers cannot make the server buffer without
 * bound.
 *
 * Threads: a net and its connections belong to one loop's thread, and the
 * gRPC application's callbacks run there. Several loops serve one address
 * with one net each, sharing the listening socket and the limits.
 */
#ifndef SIDIK_NET_H
#define SIDIK_NET_H

#include <openssl/ssl.h>
#include <stdint.h>
#include <uv.h>

#include "sidik/h2.h"
#include "sidik/metrics.h"

typedef struct sidik_net sidik_net;

/* Connection limits shared by the listeners of several loops (one per I/O
 * thread): the total and each client identity's share. Thread-safe. */
typedef struct sidik_net_limits sidik_net_limits;

/** 0 for either: 10,000 in all, 64 per client. Errors: SIDIK_EINVAL,
 *  SIDIK_ENOMEM. Destroy after every net using it has stopped. */
int sidik_net_limits_create(uint32_t max_connections, uint32_t per_client, sidik_net_limits **out);
void sidik_net_limits_destroy(sidik_net_limits *l);

typedef struct sidik_net_options {
    const char *listen;        /* "host:port"; port 0 picks a free one */
    /* Or accept on the same socket as this net (another loop's, started
     * first and stopped last): listen is then ignored. */
    const sidik_net *share_listener;
    SSL_CTX *ssl;              /* the net takes its own reference */
    sidik_h2_options h2;
    const sidik_h2_callbacks *cb;
    void *ctx;
    uint64_t handshake_timeout_ms; /* 0: 10 s */
    uint64_t idle_timeout_ms;      /* 0: 5 min */
    uint32_t max_connections;      /* 0: 10,000 */
    uint32_t max_connections_per_client; /* per identity (role, name); 0: 64 */
    sidik_net_limits *limits;  /* shared with other loops' nets; NULL: the two above */
    sidik_metrics *metrics;        /* may be NULL */
} sidik_net_options;

/** Binds and listens. Errors: SIDIK_EINVAL (bad listen address: *why),
 *  SIDIK_ENOMEM, -errno (EADDRINUSE, EACCES, ...). */
int sidik_net_start(uv_loop_t *loop, const sidik_net_options *o, sidik_net **out, const char **why);

/** The port bound (useful with port 0). */
int sidik_net_port(const sidik_net *n);

/** New connections use ctx from now on (certificate reload); existing ones
 *  keep theirs. n takes its own reference to ctx and drops the old one.
 *  From n's loop thread. */
void sidik_net_set_ssl(sidik_net *n, SSL_CTX *ctx);

/** Connections open now. */
uint32_t sidik_net_connections(const sidik_net *n);

/** The first step of a graceful stop: stops listening and stops reading
 *  from every connection, so no new work enters; what is answered still
 *  goes out. */
void sidik_net_quiesce(sidik_net *n);

/** Stops listening and closes every connection (after a quiesce, each
 *  once what is queued for it is written, or STOP_WRITE_GRACE_MS
 *  passed); done(arg) runs (from the loop) once all handles are closed,
 *  after which n is freed. */
void sidik_net_stop(sidik_net *n, void (*done)(void *arg), void *arg);

#endif

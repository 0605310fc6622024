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
 * Threads: everything runs on the loop's thread; callbacks of the gRPC
 * application run there too.
 */
#ifndef SIDIK_NET_H
#define SIDIK_NET_H

#include <openssl/ssl.h>
#include <stdint.h>
#include <uv.h>

#include "sidik/h2.h"
#include "sidik/metrics.h"

typedef struct sidik_net sidik_net;

typedef struct sidik_net_options {
    const char *listen;        /* "host:port"; port 0 picks a free one */
    SSL_CTX *ssl;              /* borrowed; replace with sidik_net_set_ssl */
    sidik_h2_options h2;
    const sidik_h2_callbacks *cb;
    void *ctx;
    uint64_t handshake_timeout_ms; /* 0: 10 s */
    uint64_t idle_timeout_ms;      /* 0: 5 min */
    uint32_t max_connections;      /* 0: 10,000 */
    uint32_t max_connections_per_client; /* per identity (role, name); 0: 64 */
    sidik_metrics *metrics;        /* may be NULL */
} sidik_net_options;

/** Binds and listens. Errors: SIDIK_EINVAL (bad listen address: *why),
 *  SIDIK_ENOMEM, -errno (EADDRINUSE, EACCES, ...). */
int sidik_net_start(uv_loop_t *loop, const sidik_net_options *o, sidik_net **out, const char **why);

/** The port bound (useful with port 0). */
int sidik_net_port(const sidik_net *n);

/** New connections use ctx from now on (certificate reload); existing ones
 *  keep theirs. ctx is borrowed; the caller frees the old one when it
 *  likes (OpenSSL counts references for live connections). */
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

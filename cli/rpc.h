/*
 * The sidik CLI's gRPC client: one blocking connection to sidikd.
 *
 * Real gRPC, as any stock client speaks it: TCP (IPv4, IPv6 or a host
 * name), TLS 1.3 only with the station's client certificate, the server's
 * certificate checked against the CA and the host name, ALPN "h2", HTTP/2
 * (nghttp2) with gRPC's 5-byte message prefix, a grpc-timeout per call and
 * grpc-status / grpc-message trailers. No compression is offered, so a
 * compressed response is refused.
 *
 * Blocking: each call runs the socket with poll() until it is over or its
 * deadline (the settings' timeout, from the call's start) passes; nothing
 * runs in the background and no callback outlives the call that takes it.
 * One connection carries any number of calls one after another.
 *
 * Results: a call that reached its end (the server's grpc-status arrived)
 * returns 0 and its status in *st, st->code 0 meaning OK. A call that did
 * not (connection lost, deadline, protocol error, a response too big or
 * that does not parse, GOAWAY or RST_STREAM from the server) returns a
 * negative sidik error code and still fills *st, with the gRPC code a stock
 * client would report (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
 * RESOURCE_EXHAUSTED, CANCELLED) and a message. A failure of the call alone
 * (deadline, size, parse, a reset stream) leaves the connection usable; a
 * failure of the connection makes later calls fail at once the same way.
 *
 * Response messages are unpacked with sidik's allocator: free each with
 * sidik_rpc_message_free.
 *
 * Thread safety: a connection is used by one thread at a time. Different
 * connections are independent. OpenSSL 3 and nghttp2 need no global setup.
 *
 * Caveats: no retries (a command decides whether to reconnect), no
 * client-streaming or bidirectional calls yet; the call machinery
 * (rpc_int.h) is per stream so an Upload client can be added on it.
 * sidik_rpc_connect sets SIGPIPE to ignored when it has its default action,
 * so a write to a closed socket is an error (-EPIPE) rather than the
 * process's silent end; a handler of the caller's own is left alone.
 */
#ifndef SIDIK_RPC_H
#define SIDIK_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "client_settings.h"

/* Largest response message accepted; a larger one ends the call with
 * RESOURCE_EXHAUSTED (SIDIK_ETOOBIG) before it is read. */
#define SIDIK_RPC_MAX_MESSAGE (16u << 20)

typedef struct sidik_rpc sidik_rpc;

typedef struct sidik_rpc_status {
    int code;          /* gRPC status (sidik_grpc_status), 0 OK */
    char message[512]; /* grpc-message, percent-decoded; or why the call failed here */
} sidik_rpc_status;

/** Connects to s->server and returns once the server has accepted the
 *  client certificate (its HTTP/2 SETTINGS arrived), within s->timeout_ms.
 *  s is read during the call only. On error *out is untouched and why
 *  (cap bytes) says what is wrong and what to do. Errors:
 *    SIDIK_EFORMAT   s->server is not HOST:PORT
 *    SIDIK_ENOTFOUND the host name does not resolve
 *    -ECONNREFUSED, -EHOSTUNREACH, ... (-errno) nothing reachable listens
 *    SIDIK_ETIMEOUT  no connection, handshake or SETTINGS within the timeout
 *    -ENOENT, -EACCES, SIDIK_EFORMAT  the CA, certificate or key file cannot
 *                    be read or is not PEM; the key is not the certificate's
 *    SIDIK_EUNAUTH   the server's certificate does not verify (CA, host
 *                    name, dates), the server refused ours with a TLS
 *                    alert, or the handshake failed otherwise
 *    SIDIK_EUNSUPPORTED the peer does not speak TLS, did not select ALPN
 *                    h2 or broke HTTP/2; the host name lookup failed for a
 *                    reason other than "no such name"
 *    SIDIK_ESHUTDOWN, -ECONNRESET  the server closed the connection before
 *                    its SETTINGS (sidikd: a certificate whose OU is no
 *                    role, or too many connections from it)
 *    SIDIK_ENOMEM, SIDIK_EINTERNAL */
int sidik_rpc_connect(const sidik_client_settings *s, sidik_rpc **out, char *why, size_t cap);

/** One unary call: req (borrowed for the call) to path
 *  ("/sidik.v1.Status/Get"), the answer unpacked as resp_desc into *resp
 *  (handed over: free with sidik_rpc_message_free) only when st->code is 0;
 *  otherwise *resp is NULL. Returns 0 when the server ended the call with a
 *  status, else (st filled as in the header block):
 *    SIDIK_ETIMEOUT   the deadline passed (the stream is cancelled)
 *    SIDIK_ETOOBIG    a response message over SIDIK_RPC_MAX_MESSAGE
 *    SIDIK_EFORMAT    a response that is not gRPC: bad :status, content-type,
 *                     no grpc-status, a message that does not unpack, or OK
 *                     with no message or more than one
 *    SIDIK_EUNSUPPORTED a compressed message
 *    SIDIK_ECANCELLED / SIDIK_EBUSY / SIDIK_EINTERNAL  RST_STREAM from the
 *                     server (CANCEL / REFUSED_STREAM or ENHANCE_YOUR_CALM /
 *                     other codes); a GOAWAY that leaves the call out is
 *                     SIDIK_EBUSY, and every later call SIDIK_ESHUTDOWN
 *    -errno           the socket failed (-ECONNRESET, -EPIPE)
 *    SIDIK_EUNAUTH    TLS ended with an alert (the certificate refused late)
 *    SIDIK_EFORMAT    the server broke HTTP/2 or TLS framing
 *    SIDIK_ENOMEM, SIDIK_EINVAL (a NULL argument; st then says so)
 *  The last four, and SIDIK_ESHUTDOWN, leave the connection unusable: later
 *  calls return the same code at once. */
int sidik_rpc_unary(sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                    sidik_rpc_status *st);

/** A server-streaming call: each response message, unpacked as resp_desc,
 *  is handed to on_message (which owns it: free with
 *  sidik_rpc_message_free), synchronously, in order, from inside this call.
 *  A non-zero return from on_message cancels the call (RST_STREAM CANCEL),
 *  sets st to CANCELLED and is returned as is. Otherwise as
 *  sidik_rpc_unary, without the one-message rule; the deadline covers the
 *  whole stream. */
int sidik_rpc_stream(sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc,
                     int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx,
                     sidik_rpc_status *st);

/** The subject OU (role: "office", "auditor", ...) and CN (the office code,
 *  region or login) of the client certificate c presented; "" when absent.
 *  Valid until sidik_rpc_close. */
const char *sidik_rpc_role(const sidik_rpc *c);
const char *sidik_rpc_name(const sidik_rpc *c);

/** Frees a message a call handed over. NULL is a no-op. */
void sidik_rpc_message_free(ProtobufCMessage *m);

/** Sends GOAWAY (best effort, without waiting), closes the socket and frees
 *  c. NULL is a no-op. */
void sidik_rpc_close(sidik_rpc *c);

#endif

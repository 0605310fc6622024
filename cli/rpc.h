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
 * Bidirectional calls (sidik_rpc_bidi_*, for Ingest.Upload) are driven by
 * their caller: it queues messages, pumps, and reads answers as they come,
 * so it can keep a bounded number of messages in flight on one stream.
 *
 * Caveats: no retries (a command decides whether to reconnect); no
 * client-streaming call of its own (a bidirectional call whose answers come
 * at the end is one).
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

/* ---- bidirectional streaming ---------------------------------------------------- */

typedef struct sidik_rpc_bidi sidik_rpc_bidi;

/** Opens a bidirectional call to path on c: the HTTP/2 stream is opened
 *  (its HEADERS go out with the first pump or send). Each answer, unpacked
 *  as resp_desc, is handed to on_message (which owns it: free with
 *  sidik_rpc_message_free), in order, synchronously from inside
 *  sidik_rpc_bidi_pump or _finish, never after sidik_rpc_bidi_free;
 *  on_message must not call into c or *out itself. A non-zero return from
 *  it cancels the call (RST_STREAM CANCEL) and is what _finish returns.
 *  timeout_ms is the whole call's deadline (sent as grpc-timeout), 0 the
 *  connection's timeout. One call at a time per connection: while it is
 *  open c runs no other call. *out is the caller's until
 *  sidik_rpc_bidi_free. Errors (st filled, *out untouched): SIDIK_EINVAL,
 *  SIDIK_ENOMEM, and a connection that cannot carry a call: SIDIK_ESHUTDOWN
 *  (GOAWAY) or its earlier error. */
int sidik_rpc_bidi_open(sidik_rpc *c, const char *path, const ProtobufCMessageDescriptor *resp_desc,
                        int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx,
                        uint32_t timeout_ms, sidik_rpc_bidi **out, sidik_rpc_status *st);

/** Queues m (packed now, borrowed for the call) to be sent as the stream's
 *  flow-control window allows; never blocks and sends nothing itself (a
 *  pump does). Errors: SIDIK_ESTATE (half-closed already, or the call is
 *  over: _finish says how), SIDIK_ETOOBIG (over 4 GiB), SIDIK_ENOMEM. */
int sidik_rpc_bidi_send(sidik_rpc_bidi *b, const ProtobufCMessage *m);

/** The same for a message already packed: p[0..n) is copied. */
int sidik_rpc_bidi_send_packed(sidik_rpc_bidi *b, const uint8_t *p, size_t n);

/** Bytes queued by _send and not yet taken by HTTP/2 (the window is
 *  closed, or no pump ran since): a sender holds back while this is more
 *  than it wants buffered. */
size_t sidik_rpc_bidi_unsent(const sidik_rpc_bidi *b);

/** Half-closes: END_STREAM goes out once the queued messages have.
 *  Errors: SIDIK_ENOMEM. Again, or on a call that is over: a no-op. */
int sidik_rpc_bidi_close_send(sidik_rpc_bidi *b);

/** One round of I/O, waiting at most wait_ms for the socket: queued bytes
 *  go out as the window allows and answers that arrived are delivered to
 *  on_message. Returns 0 while the call goes on (whether or not anything
 *  happened), 1 once it is over: the server ended it, the deadline passed
 *  (the stream is then cancelled), on_message cancelled it, or the
 *  connection failed; sidik_rpc_bidi_finish then gives the outcome without
 *  waiting. */
int sidik_rpc_bidi_pump(sidik_rpc_bidi *b, uint32_t wait_ms);

/** Whether the call is over (as _pump's 1). */
int sidik_rpc_bidi_over(const sidik_rpc_bidi *b);

/** Waits (pumping, so answers are still delivered) until the call is over
 *  or its deadline passes, then returns as sidik_rpc_stream does: 0 with
 *  the server's status in *st, or the call's error with the status a stock
 *  client reports (SIDIK_ETIMEOUT DEADLINE_EXCEEDED, -ECONNRESET
 *  UNAVAILABLE, ...). It does not half-close: a caller that is done sending
 *  calls _close_send first, or the server may wait for more. The same
 *  answer again when called again. */
int sidik_rpc_bidi_finish(sidik_rpc_bidi *b, sidik_rpc_status *st);

/** Ends the call: a stream still open is reset (CANCEL, without waiting),
 *  queued bytes are dropped, b is freed; the connection stays usable for
 *  other calls unless it failed. NULL is a no-op. */
void sidik_rpc_bidi_free(sidik_rpc_bidi *b);

/* What has crossed a connection, so a caller watching a long call can
 * tell a slow link (bytes still move) from a dead one. */
typedef struct sidik_rpc_io_counts {
    uint64_t received; /* HTTP/2 bytes read (after TLS) */
    uint64_t sent;     /* HTTP/2 bytes handed to TLS */
    uint64_t acked;    /* bytes of the TCP stream the peer acknowledged (TLS included;
                        * from TCP_INFO, 0 where the kernel does not say) */
} sidik_rpc_io_counts;

/** The counts so far into *out. Thread safety as any call on c. */
void sidik_rpc_io(const sidik_rpc *c, sidik_rpc_io_counts *out);

/** Queues an HTTP/2 PING (sent with the next pump); the server's ACK
 *  shows in sidik_rpc_io's received count. A no-op on a connection that
 *  failed. */
void sidik_rpc_ping(sidik_rpc *c);

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

/*
 * One HTTP/2 server connection speaking gRPC, independent of the transport:
 * bytes read from TLS go in with sidik_h2_conn_recv, bytes to write come
 * out of sidik_h2_conn_pending. nghttp2 does HTTP/2; this layer adds the
 * gRPC rules on top (doc/PROTOCOL-HTTP2.md in the grpc repository):
 *
 *  - a call is POST to a known :path with content-type application/grpc
 *    and te: trailers; anything else is answered trailers-only with the
 *    status gRPC prescribes (UNIMPLEMENTED for an unknown method,
 *    INTERNAL for a malformed request) and never reaches the application;
 *  - the caller's role (from its certificate) is checked against the
 *    method once, here (sidik/authz.h): PERMISSION_DENIED otherwise;
 *  - messages are reassembled from the 5-byte-prefixed stream; one over
 *    max_message_bytes is refused with RESOURCE_EXHAUSTED before its body
 *    is buffered; compressed messages are refused (UNIMPLEMENTED: sidik
 *    advertises identity only);
 *  - grpc-timeout becomes the call's deadline;
 *  - responses: initial headers with the first message, then messages, then
 *    trailers (grpc-status, grpc-message percent-encoded), or trailers-only.
 *
 * Flow control: received DATA is acknowledged to the peer (WINDOW_UPDATE)
 * only as the application is handed it, so a peer cannot push more than
 * the windows allow while the application is slow (backpressure).
 *
 * Threads: a connection and its calls belong to one thread (its loop).
 * Callbacks run synchronously inside sidik_h2_conn_recv.
 */
#ifndef SIDIK_H2_H
#define SIDIK_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sidik/authz.h"
#include "sidik/err.h"
#include "sidik/tls.h"

typedef struct sidik_h2_conn sidik_h2_conn;
typedef struct sidik_h2_call sidik_h2_call;

typedef struct sidik_h2_callbacks {
    /* A call passed every check above. Return 0 to take it, or an error
     * to answer it at once with that error's gRPC status. */
    int (*on_call)(void *ctx, sidik_h2_call *call);
    /* One whole message; p is borrowed for the callback. A nonzero return
     * finishes the call with that error's status. */
    int (*on_message)(void *ctx, sidik_h2_call *call, const uint8_t *p, size_t n);
    /* The client sent its last message. */
    void (*on_half_close)(void *ctx, sidik_h2_call *call);
    /* The call is gone (finished, reset, or the connection closed); the
     * call pointer is invalid after this returns. */
    void (*on_close)(void *ctx, sidik_h2_call *call);
} sidik_h2_callbacks;

typedef struct sidik_h2_options {
    uint32_t max_message_bytes;  /* 0: 4 MiB */
    uint32_t max_streams;        /* concurrent streams; 0: 100 */
    uint32_t window_bytes;       /* per-stream receive window; 0: 1 MiB */
} sidik_h2_options;

/** Creates a connection for an authenticated peer (who is copied); its
 *  SETTINGS are queued at once. Errors: SIDIK_EINVAL, SIDIK_ENOMEM. */
int sidik_h2_conn_create(const sidik_h2_options *o, const sidik_identity *who,
                         const sidik_h2_callbacks *cb, void *ctx, sidik_h2_conn **out);
/** Closes every call (on_close for each) and frees the connection. */
void sidik_h2_conn_destroy(sidik_h2_conn *c);

/** Feeds n bytes read from the peer. Errors: SIDIK_EFORMAT (a protocol
 *  violation: the connection is finished; send what is pending, which
 *  holds the GOAWAY, then close), SIDIK_ENOMEM. */
int sidik_h2_conn_recv(sidik_h2_conn *c, const uint8_t *p, size_t n);

/** Why sidik_h2_conn_recv answered SIDIK_EFORMAT ("stream reset flood",
 *  "ping or settings flood (acknowledgements not read)", or nghttp2's
 *  text for the protocol error), for the log; NULL before that. */
const char *sidik_h2_conn_why(const sidik_h2_conn *c);

/** The next bytes to write (*n == 0: nothing now); *p is valid until the
 *  next call on c. Errors: SIDIK_ENOMEM, SIDIK_EFORMAT. */
int sidik_h2_conn_pending(sidik_h2_conn *c, const uint8_t **p, size_t *n);

/** Milliseconds until the earliest deadline (grpc-timeout) of a call still
 *  running: 0 when one has passed, -1 when none has a deadline. The
 *  transport sets a timer by it and then calls sidik_h2_conn_expire. */
int64_t sidik_h2_conn_next_deadline_ms(const sidik_h2_conn *c);

/** Ends every running call whose deadline has passed with
 *  DEADLINE_EXCEEDED; the caller then sends what is pending. The
 *  application learns of it from on_close once the stream is gone; until
 *  then its sends answer SIDIK_ESTATE. */
void sidik_h2_conn_expire(sidik_h2_conn *c);

/** A graceful stop: every running call ends with UNAVAILABLE and message
 *  after the messages already queued for it (so a client reads every
 *  answer, then the status, in order), and a GOAWAY (NO_ERROR) says no
 *  new stream will be served; the caller then sends what is pending.
 *  Errors: SIDIK_ENOMEM. */
int sidik_h2_conn_shutdown(sidik_h2_conn *c, const char *message);

/** True when both sides are done and the transport may be closed. */
int sidik_h2_conn_done(const sidik_h2_conn *c);

/** fn(arg) is called when output was queued outside sidik_h2_conn_recv
 *  (a response sent from a timer or another event, a paused call
 *  resumed): the transport should take sidik_h2_conn_pending soon. It is
 *  called from inside sidik_h2_call_send and friends, so it must only note
 *  the connection, never call back into it. */
void sidik_h2_conn_set_wake(sidik_h2_conn *c, void (*fn)(void *arg), void *arg);

const sidik_method_info *sidik_h2_call_method(const sidik_h2_call *call);
/** The call's deadline in ms on the CLOCK_MONOTONIC scale (0: none). */
int64_t sidik_h2_call_deadline_ms(const sidik_h2_call *call);
const sidik_identity *sidik_h2_call_peer(const sidik_h2_call *call);
void sidik_h2_call_set_data(sidik_h2_call *call, void *data);
void *sidik_h2_call_data(const sidik_h2_call *call);

/** Queues one response message (copied). Errors: SIDIK_ESTATE (the call
 *  is finished), SIDIK_ETOOBIG (over max_message_bytes), SIDIK_ENOMEM. */
int sidik_h2_call_send(sidik_h2_call *call, const uint8_t *p, size_t n);

/** Backpressure for one call: while paused, DATA the peer sends on it is
 *  not acknowledged, so the peer stops once the stream's window (and at
 *  most twice that on the connection) is spent; messages within the
 *  window still arrive. Resuming acknowledges what was held. */
void sidik_h2_call_pause(sidik_h2_call *call, bool paused);
bool sidik_h2_call_paused(const sidik_h2_call *call);

/** Ends the call with status (and message, may be NULL) after the queued
 *  messages. Errors: SIDIK_ESTATE (already finished), SIDIK_ENOMEM. */
int sidik_h2_call_finish(sidik_h2_call *call, sidik_grpc_status status, const char *message);

#endif

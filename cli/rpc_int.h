/*
 * Inside the CLI's gRPC client (rpc.h): the connection, and one call (one
 * HTTP/2 stream) on it.
 *
 * rpc_conn.c owns the socket, TLS, the nghttp2 session and the I/O pump;
 * rpc_call.c owns the calls: framing the request, reassembling and
 * unpacking response messages, trailers and the status. A call's request
 * side is a queue that can be appended to while the call runs and closed
 * later (sidik__rpc_call_send / _close_send), so the bidirectional client
 * (rpc_bidi.c) is the same machinery driven by a different loop.
 */
#ifndef SIDIK_RPC_INT_H
#define SIDIK_RPC_INT_H

#include "rpc.h"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdbool.h>

struct sidik_rpc {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    nghttp2_session *h2;
    char server[256];    /* HOST:PORT as configured, for messages */
    char authority[256]; /* :authority */
    uint32_t timeout_ms;
    char role[32], name[128]; /* our certificate's OU and CN */

    /* HTTP/2 output taken from nghttp2 but not yet accepted by TLS. */
    const uint8_t *pend;
    size_t pend_len;
    bool want_write;       /* TLS needs the socket writable to go on writing */
    bool read_wants_write; /* ... to go on reading (a TLS 1.3 KeyUpdate answer) */

    bool got_settings;
    bool goaway;
    uint32_t goaway_code;
    int32_t goaway_last;
    /* Non-zero once the connection is unusable: the error, and why. */
    int dead;
    char dead_why[256];
    char tls_reason[160]; /* OpenSSL's reason when TLS failed */

    uint64_t rx_bytes, tx_bytes; /* HTTP/2 bytes read from / handed to TLS */

    uint8_t rbuf[16384];
};

typedef struct sidik__rpc_call {
    sidik_rpc *c;
    int32_t stream_id;
    int64_t deadline_ns; /* CLOCK_MONOTONIC */
    const ProtobufCMessageDescriptor *desc;
    int (*on_message)(void *ctx, ProtobufCMessage *m);
    void *ctx;

    /* Request: framed messages not yet handed to nghttp2. */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    bool send_closed; /* END_STREAM once out is drained */
    bool deferred;    /* the data provider is waiting for more */

    /* Response. */
    int http_status;
    bool content_type_ok;
    int grpc_status; /* -1 until the trailers (or a trailers-only answer) say */
    char grpc_message[512];
    uint8_t prefix[5];
    uint32_t prefix_have;
    uint8_t *msg;
    uint32_t msg_len, msg_have;
    bool in_msg;
    unsigned messages;

    bool done;    /* nothing more will come: the stream closed or was dropped */
    uint32_t rst; /* the stream's close code (HTTP/2 error code) */
    int fail;     /* a local failure that ended the call, or on_message's non-zero */
    sidik_rpc_status fail_st;
} sidik__rpc_call;

/* rpc_conn.c */
int64_t sidik__rpc_now_ns(void);
/** Moves output, waits (at most until deadline_ns) for input and feeds it to
 *  nghttp2: one round. 0, SIDIK_ETIMEOUT when the deadline passed, or the
 *  connection's error (c->dead set, c->dead_why says it). */
int sidik__rpc_pump(sidik_rpc *c, int64_t deadline_ns);
/** Sends what nghttp2 has without waiting (best effort: a reset or GOAWAY
 *  that does not fit the socket buffer now is dropped). */
void sidik__rpc_flush_nowait(sidik_rpc *c);

/* rpc_tcp.c */
/** Bytes of fd's TCP stream the peer has acknowledged; 0 where unknown. */
uint64_t sidik__rpc_tcp_acked(int fd);

/* rpc_call.c */
/** Adds the per-stream callbacks to cbs. */
void sidik__rpc_stream_callbacks(nghttp2_session_callbacks *cbs);
/** Called by the connection's frame callback for every frame received. */
void sidik__rpc_call_frame(nghttp2_session *s, const nghttp2_frame *f);
/** Opens a stream for path; the call lives in the caller's storage until
 *  sidik__rpc_call_end. Its deadline (and grpc-timeout) is timeout_ms from
 *  now, 0 meaning the connection's timeout. */
int sidik__rpc_call_start(sidik_rpc *c, sidik__rpc_call *call, const char *path,
                          const ProtobufCMessageDescriptor *resp_desc,
                          int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx,
                          uint32_t timeout_ms);
int sidik__rpc_call_send(sidik__rpc_call *call, const ProtobufCMessage *m);
/** The same for a message already packed, p[0..n) copied. */
int sidik__rpc_call_send_packed(sidik__rpc_call *call, const uint8_t *p, size_t n);
int sidik__rpc_call_close_send(sidik__rpc_call *call);
/** The status for a connection that cannot carry a call (rc its error). */
void sidik__rpc_conn_status(sidik_rpc *c, int rc, sidik_rpc_status *st);
/** Resets the stream (CANCEL) and forgets it: nothing more is delivered. */
void sidik__rpc_call_drop(sidik__rpc_call *call);
/** The outcome of a call that is done (call->done): 0 and the server's
 *  status, or the call's error; *st filled. */
int sidik__rpc_call_outcome(sidik__rpc_call *call, sidik_rpc_status *st);
/** Pumps until the call is over; 0 or the call's error, *st filled. */
int sidik__rpc_call_wait(sidik__rpc_call *call, sidik_rpc_status *st);
/** Resets the stream if it is still open and frees the call's buffers. */
void sidik__rpc_call_end(sidik__rpc_call *call);

#endif

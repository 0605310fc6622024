/*
 * loadgen's private pieces, shared by its three files:
 *   loadgen.c         arguments, the two phases (hold, stream), figures;
 *   loadgen_conn.c    one client connection: TCP on libuv, TLS 1.3 with the
 *                     office certificate over memory BIOs, an nghttp2 client
 *                     session, the Ingest.Upload stream;
 *   loadgen_enroll.c  the valid Enrollment every message is made from.
 *
 * Threads: everything runs on the one loop thread; nothing here is
 * thread-safe. All allocation aborts on failure (sidik_x*): a benchmark
 * that runs out of memory has nothing useful left to report.
 */
#ifndef SIDIK_BENCH_LOADGEN_INT_H
#define SIDIK_BENCH_LOADGEN_INT_H

#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sidik.pb-c.h"

#define LG_ID_LEN          36 /* a UUID in its 8-4-4-4-12 text form */
#define LG_MAX_OUTSTANDING 64 /* unanswered enrollments per stream, at most */

uint64_t lg_now_ns(void); /* CLOCK_MONOTONIC */

/* ---- enrollments (loadgen_enroll.c) ------------------------------------------------ */

/* One valid enrollment (ten synthetic finger templates, a face of random
 * bytes with its SHA-256); messages differ only in enrollment_id, unique
 * across runs (a random run prefix and a counter). The struct points into
 * itself: it must not move once initialised. */
typedef struct lg_enroll {
    Sidik__V1__Enrollment e;
    Sidik__V1__Demographics d;
    Sidik__V1__FingerRecord f[10];
    Sidik__V1__FingerRecord *fp[10];
    uint8_t tmpl[10][4096];
    Sidik__V1__Attachment face;
    Sidik__V1__Attachment *ap[1];
    uint8_t *face_data;
    uint8_t face_sha256[32];
    char id[LG_ID_LEN + 1];
    uint8_t run[6]; /* random: the ids' prefix */
    uint64_t counter;
} lg_enroll;

/** Builds the enrollment for office `office` with a face of face_bytes.
 *  Returns 0, or -1 when the synthetic templates cannot be made. */
int lg_enroll_init(lg_enroll *x, const char *office, size_t face_bytes);
void lg_enroll_close(lg_enroll *x);

/** The next enrollment with a new id, packed and framed for gRPC (the
 *  5-byte prefix, then the message): a buffer the caller frees with
 *  sidik_free, its length in *len, the id copied to id. */
uint8_t *lg_enroll_next(lg_enroll *x, size_t *len, char id[LG_ID_LEN + 1]);

/* ---- connections (loadgen_conn.c) ---------------------------------------------------- */

typedef struct lg lg;

typedef enum {
    LG_IDLE,       /* not opened */
    LG_CONNECTING, /* TCP connect, TLS handshake, HTTP/2 SETTINGS exchange */
    LG_READY,      /* both SETTINGS acknowledged: the server took the connection */
    LG_CLOSED,     /* closed or closing, by either side */
} lg_state;

typedef struct lg_msg { /* one enrollment on the Upload stream, until its Receipt */
    uint8_t *buf;       /* framed message; NULL once wholly handed to the socket */
    size_t len, off;
    uint64_t sent_ns; /* its last byte handed to the socket */
    char id[LG_ID_LEN + 1];
} lg_msg;

typedef struct lg_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    lg *g;
    lg_state state;
    bool tcp_open; /* tcp initialised: needs a uv_close */
    bool counted;  /* its connect attempt has been counted as ready or failed */
    SSL *ssl;
    BIO *rbio, *wbio;
    nghttp2_session *h2;
    bool got_settings, settings_acked, ping_acked;
    size_t unsent; /* bytes handed to uv_write, not yet written */
    /* The Upload stream: q holds the unanswered messages oldest first;
     * the first nsent of them have been sent in full. */
    int32_t stream;
    bool stream_closed;
    lg_msg q[LG_MAX_OUTSTANDING];
    unsigned qhead, qlen, nsent;
    uint8_t *in; /* response bytes not yet a whole gRPC message */
    size_t inlen, incap;
    char grpc_status[8];
    char grpc_message[160];
} lg_conn;

/* The whole run: options, the connections of the phase, and its counters. */
struct lg {
    uv_loop_t *loop;
    SSL_CTX *ssl;
    nghttp2_session_callbacks *h2cb;
    struct sockaddr_in addr;
    const char *servername; /* checked against the server's certificate */
    lg_enroll enroll;
    uint8_t readbuf[64 * 1024]; /* every read lands here: one loop, consumed at once */

    lg_conn *conns;
    uint32_t nconns, next_open;
    uint32_t ramp;       /* connection attempts in flight at most */
    uint32_t connecting; /* in flight now */
    bool in_connect_more;
    uint32_t ready, failed, lost, closed_handles, open_handles;
    uint32_t pings_acked;

    /* Streaming. */
    unsigned outstanding; /* per stream */
    bool streaming, draining;
    uint64_t window_start_ns, window_end_ns;
    uint64_t receipts_ok, receipts_refused, receipts_ok_in_window;
    uint64_t bytes_in_window;
    uint64_t unanswered; /* messages whose stream ended without their receipt */
    uint32_t streams_open, streams_ok, streams_failed;
    uint32_t *lat_us; /* receipt latencies in the window */
    size_t nlat, latcap;

    char first_error[256]; /* the first thing that went wrong, for the report */
    uint64_t errors;
};

/** A client context: TLS 1.3 only, ALPN h2, the server checked against
 *  ca_file, the client certificate and key from their files. Returns 0,
 *  or -1 with the reason in why[0..cap). */
int lg_tls_ctx(const char *ca_file, const char *cert_file, const char *key_file, SSL_CTX **out,
               char *why, size_t cap);

/** Starts connection attempts until g->ramp are in flight or every
 *  connection of g->conns has been tried; each finished attempt starts
 *  the next. */
void lg_connect_more(lg *g);

/** Sends an HTTP/2 PING on a ready connection; c->ping_acked and
 *  g->pings_acked count the answer. */
void lg_conn_ping(lg_conn *c);

/** Opens the Upload stream on a ready connection and queues g->outstanding
 *  enrollments; each Receipt queues the next until g->draining. */
void lg_conn_upload(lg_conn *c);

/** After g->draining is set: half-closes the stream once what is queued
 *  has gone out, so the server ends the call after its last Receipt. */
void lg_conn_drain(lg_conn *c);

/** Closes the connection (no-op when closed); g->closed_handles counts
 *  the close once libuv has finished it. */
void lg_conn_close(lg_conn *c);

/** Records the first error's text and counts every error. */
void lg_error(lg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

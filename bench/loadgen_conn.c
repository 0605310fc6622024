/*
 * One loadgen client connection (loadgen_int.h): TCP on libuv, TLS 1.3
 * with the office's certificate, an nghttp2 client session, and at most one
 * Ingest.Upload stream.
 *
 * TLS runs over memory BIOs, the mirror of server/net.c: bytes read from
 * the socket go into the read BIO, what OpenSSL writes is taken from the
 * write BIO and handed to uv_write. So every socket operation stays in
 * libuv and thousands of connections share one thread.
 */
#include "loadgen_int.h"
#include "sidik/common.h"
#include "sidik/grpc_frame.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Stop asking nghttp2 for output above this much unsent on a connection, so
 * a server that reads slowly is not buried in our own queue. */
#define OUT_HIGH_WATER (256u << 10)

#define UPLOAD_PATH "/sidik.v1.Ingest/Upload"

typedef struct write_req {
    uv_write_t req;
    lg_conn *c;
    size_t len;
    char data[];
} write_req;

static void flush(lg_conn *c);

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lg_error(lg *g, const char *fmt, ...)
{
    if (g->errors++ > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->first_error, sizeof g->first_error, fmt, ap);
    va_end(ap);
}

/* OpenSSL's first queued error as text, in the caller's buf. */
static const char *ssl_why(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return e != 0 ? buf : "no OpenSSL error queued";
}

/* A compound literal lives to the end of the enclosing block: long enough
 * for the call it is an argument of. */
#define SSL_WHY ssl_why((char[160]){0}, 160)

int lg_tls_ctx(const char *ca_file, const char *cert_file, const char *key_file, SSL_CTX **out,
               char *why, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    const char *what = NULL;
    if (ctx == NULL)
        what = "SSL_CTX_new";
    else if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
        what = "TLS 1.3";
    else if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
        what = ca_file;
    else if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
        what = cert_file;
    else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
             SSL_CTX_check_private_key(ctx) != 1)
        what = key_file;
    else if (SSL_CTX_set_alpn_protos(ctx, (const uint8_t *)"\x02h2", 3) != 0)
        what = "ALPN";
    if (what != NULL) {
        snprintf(why, cap, "%s: %s", what, SSL_WHY);
        SSL_CTX_free(ctx);
        return -1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* An idle connection then holds no TLS record buffers: about 10 KB
     * less per held connection (175 against 205 MB for 3,000). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    *out = ctx;
    return 0;
}

/* ---- closing and failing ------------------------------------------------------------ */

static void on_closed(uv_handle_t *h)
{
    lg_conn *c = h->data;
    if (c->h2 != NULL)
        nghttp2_session_del(c->h2);
    SSL_free(c->ssl); /* frees both BIOs */
    for (unsigned i = 0; i < c->qlen; i++)
        sidik_free(c->q[(c->qhead + i) % LG_MAX_OUTSTANDING].buf);
    sidik_free(c->in);
    c->h2 = NULL;
    c->ssl = NULL;
    c->in = NULL;
    c->qlen = 0;
    c->g->closed_handles++;
}

/* Counts a finished connection attempt once and starts the next. */
static void attempt_done(lg_conn *c, bool ready)
{
    if (c->counted)
        return;
    c->counted = true;
    c->g->connecting--;
    if (ready)
        c->g->ready++;
    else
        c->g->failed++;
    lg_connect_more(c->g);
}

void lg_conn_close(lg_conn *c)
{
    if (c->state == LG_CLOSED || c->state == LG_IDLE)
        return;
    c->state = LG_CLOSED;
    if (!c->stream_closed && c->stream > 0) {
        c->stream_closed = true;
        c->g->streams_open--;
        c->g->unanswered += c->qlen;
    }
    if (c->tcp_open)
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* Something went wrong on c: before it was ready it counts as a failed
 * attempt, after as a connection lost; either way it is closed. */
static void conn_fail(lg_conn *c, const char *what, const char *detail)
{
    if (c->state == LG_CLOSED)
        return;
    lg *g = c->g;
    if (c->state == LG_READY) {
        g->lost++;
        lg_error(g, "connection %u lost: %s%s%s", (unsigned)(c - g->conns), what,
                 detail ? ": " : "", detail ? detail : "");
    } else {
        lg_error(g, "connection %u failed: %s%s%s", (unsigned)(c - g->conns), what,
                 detail ? ": " : "", detail ? detail : "");
    }
    attempt_done(c, false);
    lg_conn_close(c);
}

/* ---- writing -------------------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    write_req *w = SIDIK_CONTAINER_OF(req, write_req, req);
    lg_conn *c = w->c;
    c->unsent -= w->len;
    sidik_free(w);
    if (status < 0) {
        conn_fail(c, "write", uv_strerror(status));
        return;
    }
    if (c->state != LG_CLOSED && c->h2 != NULL && c->unsent < OUT_HIGH_WATER &&
        nghttp2_session_want_write(c->h2))
        flush(c);
}

/* Hands everything OpenSSL has produced to the socket. */
static int drain_tls(lg_conn *c)
{
    size_t n;
    while ((n = (size_t)BIO_ctrl_pending(c->wbio)) > 0) {
        write_req *w = sidik_xmalloc(sizeof *w + n);
        int got = BIO_read(c->wbio, w->data, (int)n);
        if (got <= 0) {
            sidik_free(w);
            return -1;
        }
        w->c = c;
        w->len = (size_t)got;
        uv_buf_t b = uv_buf_init(w->data, (unsigned)got);
        int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
        if (rc != 0) {
            sidik_free(w);
            conn_fail(c, "write", uv_strerror(rc));
            return -1;
        }
        c->unsent += w->len;
    }
    return 0;
}

/* Moves HTTP/2 output through TLS to the socket. */
static void flush(lg_conn *c)
{
    if (c->state == LG_CLOSED)
        return;
    while (c->h2 != NULL && c->unsent < OUT_HIGH_WATER) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->h2, &p);
        if (n < 0) {
            conn_fail(c, "nghttp2 send", nghttp2_strerror((int)n));
            return;
        }
        if (n == 0)
            break;
        if (SSL_write(c->ssl, p, (int)n) != (int)n) { /* a memory BIO takes it all */
            conn_fail(c, "SSL_write", SSL_WHY);
            return;
        }
        if (drain_tls(c) != 0)
            return;
    }
    drain_tls(c);
}

/* ---- the Upload stream ------------------------------------------------------------- */

static void queue_one(lg_conn *c)
{
    lg_msg *m = &c->q[(c->qhead + c->qlen) % LG_MAX_OUTSTANDING];
    m->buf = lg_enroll_next(&c->g->enroll, &m->len, m->id);
    m->off = 0;
    m->sent_ns = 0;
    c->qlen++;
}

/* nghttp2 asks for the stream's next DATA bytes: the queued messages in
 * order. A message's send time is taken when its last byte is handed out;
 * the frame reaches uv_write in the same loop turn (flush). */
static ssize_t on_upload_read(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t length,
                              uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)stream;
    (void)ud;
    lg_conn *c = src->ptr;
    size_t n = 0;
    while (n < length && c->nsent < c->qlen) {
        lg_msg *m = &c->q[(c->qhead + c->nsent) % LG_MAX_OUTSTANDING];
        size_t k = m->len - m->off < length - n ? m->len - m->off : length - n;
        memcpy(buf + n, m->buf + m->off, k);
        m->off += k;
        n += k;
        if (m->off == m->len) {
            m->sent_ns = lg_now_ns();
            sidik_free(m->buf);
            m->buf = NULL;
            c->nsent++;
        }
    }
    if (n > 0)
        return (ssize_t)n;
    if (c->g->draining) {
        *flags |= NGHTTP2_DATA_FLAG_EOF; /* half-close: the server ends the call when done */
        return 0;
    }
    return NGHTTP2_ERR_DEFERRED;
}

#define NV(n, v)                                                                           \
    {                                                                                      \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
    }

void lg_conn_upload(lg_conn *c)
{
    if (c->state != LG_READY)
        return;
    const nghttp2_nv nva[] = {NV(":method", "POST"),
                              NV(":scheme", "https"),
                              NV(":authority", "localhost"),
                              NV(":path", UPLOAD_PATH),
                              NV("content-type", "application/grpc"),
                              NV("te", "trailers")};
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = on_upload_read};
    int32_t id = nghttp2_submit_request(c->h2, NULL, nva, SIDIK_ARRAY_SIZE(nva), &dp, c);
    if (id < 0) {
        conn_fail(c, "submit Upload", nghttp2_strerror(id));
        return;
    }
    c->stream = id;
    c->g->streams_open++;
    while (c->qlen < c->g->outstanding)
        queue_one(c);
    flush(c);
}

void lg_conn_drain(lg_conn *c)
{
    if (c->state != LG_READY || c->stream <= 0 || c->stream_closed)
        return;
    nghttp2_session_resume_data(c->h2, c->stream);
    flush(c);
}

/* One whole Receipt: it answers the oldest unanswered message (sidikd
 * answers in order). */
static void on_receipt(lg_conn *c, const uint8_t *p, size_t n)
{
    lg *g = c->g;
    uint64_t now = lg_now_ns();
    Sidik__V1__Receipt *r = sidik__v1__receipt__unpack(NULL, n, p);
    if (r == NULL) {
        lg_error(g, "a Receipt that does not parse (%zu bytes)", n);
        return;
    }
    if (c->qlen == 0 || c->nsent == 0) {
        lg_error(g, "a Receipt for nothing sent (id %s)", r->enrollment_id);
    } else {
        lg_msg *m = &c->q[c->qhead];
        if (strcmp(r->enrollment_id, m->id) != 0)
            lg_error(g, "Receipt for %s where %s was expected", r->enrollment_id, m->id);
        if (r->code == 0) {
            g->receipts_ok++;
            if (now >= g->window_start_ns && now <= g->window_end_ns) {
                g->receipts_ok_in_window++;
                g->bytes_in_window += m->len - SIDIK_GRPC_PREFIX_BYTES;
                if (g->nlat == g->latcap) {
                    g->latcap = g->latcap ? 2 * g->latcap : 65536;
                    g->lat_us = sidik_xrealloc(g->lat_us, g->latcap * sizeof *g->lat_us);
                }
                g->lat_us[g->nlat++] = (uint32_t)((now - m->sent_ns) / 1000);
            }
        } else {
            g->receipts_refused++;
            lg_error(g, "Receipt code %d for %s: %s", r->code, r->enrollment_id, r->reason);
        }
        c->qhead = (c->qhead + 1) % LG_MAX_OUTSTANDING;
        c->qlen--;
        c->nsent--;
        if (!g->draining) {
            queue_one(c);
            nghttp2_session_resume_data(c->h2, c->stream);
        }
    }
    sidik__v1__receipt__free_unpacked(r, NULL);
}

/* ---- nghttp2 callbacks -------------------------------------------------------------- */

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    lg_conn *c = ud;
    switch (f->hd.type) {
    case NGHTTP2_SETTINGS:
        if (f->hd.flags & NGHTTP2_FLAG_ACK)
            c->settings_acked = true;
        else
            c->got_settings = true;
        if (c->state == LG_CONNECTING && c->got_settings && c->settings_acked) {
            c->state = LG_READY;
            attempt_done(c, true);
        }
        break;
    case NGHTTP2_PING:
        if ((f->hd.flags & NGHTTP2_FLAG_ACK) && !c->ping_acked) {
            c->ping_acked = true;
            c->g->pings_acked++;
        }
        break;
    case NGHTTP2_GOAWAY:
        lg_error(c->g, "GOAWAY from the server, error code %u", (unsigned)f->goaway.error_code);
        break;
    default:
        break;
    }
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nn,
                     const uint8_t *value, size_t vn, uint8_t flags, void *ud)
{
    (void)s;
    (void)f;
    (void)flags;
    lg_conn *c = ud;
    if (nn == 11 && memcmp(name, "grpc-status", 11) == 0)
        snprintf(c->grpc_status, sizeof c->grpc_status, "%.*s", (int)vn, value);
    else if (nn == 12 && memcmp(name, "grpc-message", 12) == 0)
        snprintf(c->grpc_message, sizeof c->grpc_message, "%.*s", (int)vn, value);
    return 0;
}

/* Response DATA: gathered until whole gRPC messages can be cut off it. */
static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream, const uint8_t *p, size_t n,
                   void *ud)
{
    (void)s;
    (void)flags;
    (void)stream;
    lg_conn *c = ud;
    if (c->inlen + n > c->incap) {
        c->incap = c->inlen + n > 2 * c->incap ? c->inlen + n : 2 * c->incap;
        c->in = sidik_xrealloc(c->in, c->incap);
    }
    memcpy(c->in + c->inlen, p, n);
    c->inlen += n;
    size_t off = 0;
    while (c->inlen - off >= SIDIK_GRPC_PREFIX_BYTES) {
        bool compressed;
        uint32_t len;
        const char *why;
        if (sidik_grpc_prefix_decode(c->in + off, 1u << 20, &compressed, &len, &why) != 0) {
            lg_error(c->g, "response framing: %s", why);
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        if (c->inlen - off - SIDIK_GRPC_PREFIX_BYTES < len)
            break;
        on_receipt(c, c->in + off + SIDIK_GRPC_PREFIX_BYTES, len);
        off += SIDIK_GRPC_PREFIX_BYTES + len;
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream, uint32_t error_code, void *ud)
{
    (void)s;
    (void)stream;
    lg_conn *c = ud;
    lg *g = c->g;
    if (c->stream_closed)
        return 0;
    c->stream_closed = true;
    g->streams_open--;
    g->unanswered += c->qlen;
    if (error_code == 0 && strcmp(c->grpc_status, "0") == 0 && c->qlen == 0) {
        g->streams_ok++;
    } else {
        g->streams_failed++;
        lg_error(g, "Upload ended: RST code %u, grpc-status %s (%s), %u unanswered",
                 (unsigned)error_code, c->grpc_status[0] ? c->grpc_status : "none", c->grpc_message,
                 c->qlen);
    }
    return 0;
}

/* Made once per run and shared by every session. */
static nghttp2_session_callbacks *callbacks(lg *g)
{
    if (g->h2cb == NULL) {
        nghttp2_session_callbacks_new(&g->h2cb);
        nghttp2_session_callbacks_set_on_frame_recv_callback(g->h2cb, on_frame_recv);
        nghttp2_session_callbacks_set_on_header_callback(g->h2cb, on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(g->h2cb, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(g->h2cb, on_stream_close);
    }
    return g->h2cb;
}

void lg_conn_ping(lg_conn *c)
{
    if (c->state != LG_READY)
        return;
    if (nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL) != 0) {
        conn_fail(c, "submit PING", NULL);
        return;
    }
    flush(c);
}

/* ---- reading ---------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    lg_conn *c = h->data;
    *buf = uv_buf_init((char *)c->g->readbuf, sizeof c->g->readbuf);
}

/* The TLS handshake is done: check ALPN and start HTTP/2 (our preface and
 * SETTINGS go out with the next flush). */
static int start_h2(lg_conn *c)
{
    const unsigned char *alpn;
    unsigned alen;
    SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
    if (alen != 2 || memcmp(alpn, "h2", 2) != 0) {
        conn_fail(c, "the server did not select ALPN h2", NULL);
        return -1;
    }
    int rc = nghttp2_session_client_new(&c->h2, callbacks(c->g), c);
    if (rc == 0)
        rc = nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE,
                                     (nghttp2_settings_entry[]){{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}},
                                     1);
    if (rc != 0) {
        conn_fail(c, "nghttp2 session", nghttp2_strerror(rc));
        return -1;
    }
    return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    lg_conn *c = s->data;
    if (nread == 0 || c->state == LG_CLOSED)
        return;
    if (nread < 0) {
        conn_fail(c, "closed by the server", uv_strerror((int)nread));
        return;
    }
    if (BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
        conn_fail(c, "BIO_write", SSL_WHY);
        return;
    }
    if (c->h2 == NULL) {
        int rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            int e = SSL_get_error(c->ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                drain_tls(c);
            else
                conn_fail(c, "TLS handshake", SSL_WHY);
            return;
        }
        if (start_h2(c) != 0)
            return;
    }
    int got;
    while ((got = SSL_read(c->ssl, c->g->readbuf, sizeof c->g->readbuf)) > 0) {
        ssize_t used = nghttp2_session_mem_recv(c->h2, c->g->readbuf, (size_t)got);
        if (used < 0) {
            conn_fail(c, "nghttp2 receive", nghttp2_strerror((int)used));
            return;
        }
        if (c->state == LG_CLOSED)
            return;
    }
    int e = SSL_get_error(c->ssl, got);
    if (e == SSL_ERROR_ZERO_RETURN) {
        conn_fail(c, "TLS close_notify from the server", NULL);
        return;
    }
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        conn_fail(c, "TLS read", SSL_WHY);
        return;
    }
    flush(c);
}

/* ---- connecting -------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
    lg_conn *c = req->data;
    if (c->state == LG_CLOSED)
        return;
    if (status < 0) {
        conn_fail(c, "connect", uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->ssl = SSL_new(c->g->ssl);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        conn_fail(c, "SSL_new", SSL_WHY);
        return;
    }
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    SSL_set_tlsext_host_name(c->ssl, c->g->servername);
    SSL_set1_host(c->ssl, c->g->servername);
    int rc = SSL_do_handshake(c->ssl); /* the ClientHello, into the write BIO */
    if (rc != 1 && SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ) {
        conn_fail(c, "TLS ClientHello", SSL_WHY);
        return;
    }
    if (drain_tls(c) != 0)
        return;
    rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0)
        conn_fail(c, "read", uv_strerror(rc));
}

static void conn_open(lg *g, lg_conn *c)
{
    memset(c, 0, sizeof *c);
    c->g = g;
    c->state = LG_CONNECTING;
    g->connecting++;
    int rc = uv_tcp_init(g->loop, &c->tcp);
    if (rc != 0) {
        conn_fail(c, "socket", uv_strerror(rc));
        return;
    }
    c->tcp_open = true;
    g->open_handles++;
    c->tcp.data = c;
    c->connect.data = c;
    rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&g->addr, on_connect);
    if (rc != 0) /* EMFILE lands here: the descriptor limit */
        conn_fail(c, "connect", uv_strerror(rc));
}

void lg_connect_more(lg *g)
{
    /* An attempt that fails at once (EMFILE) calls back in here: the outer
     * loop carries on instead of recursing once per connection. */
    if (g->in_connect_more)
        return;
    g->in_connect_more = true;
    while (g->connecting < g->ramp && g->next_open < g->nconns)
        conn_open(g, &g->conns[g->next_open++]);
    g->in_connect_more = false;
}

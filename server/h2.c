/*
 * gRPC over one nghttp2 server session (sidik/h2.h).
 */
#include "sidik/common.h"
#include "sidik/grpc_frame.h"
#include "sidik/h2.h"

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_MESSAGE (4u << 20)
#define DEFAULT_STREAMS     100
#define DEFAULT_WINDOW      (1u << 20)
#define PATH_MAX_BYTES      128

enum { H_POST = 1, H_CONTENT_TYPE = 2, H_TE = 4 };

struct sidik_h2_call {
    sidik_h2_conn *conn;
    sidik_h2_call *prev, *next; /* the connection's open calls */
    int32_t stream_id;
    const sidik_method_info *method;
    int64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
    void *data;

    /* The request's headers. */
    unsigned seen;
    char path[PATH_MAX_BYTES];
    size_t path_len;
    bool path_bad, timeout_bad;

    bool accepted; /* handed to the application */
    bool finished; /* status decided; incoming data is dropped */
    bool paused;   /* received DATA is held unacknowledged (sidik_h2_call_pause) */
    size_t held;   /* bytes received while paused, not yet acknowledged */

    /* The message being reassembled. */
    uint8_t prefix[SIDIK_GRPC_PREFIX_BYTES];
    uint32_t prefix_have;
    uint8_t *msg;
    uint32_t msg_len, msg_have;
    bool in_msg;

    /* The response. */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    bool submitted, deferred;
    sidik_grpc_status status;
    char grpc_message[256];
};

struct sidik_h2_conn {
    nghttp2_session *s;
    sidik_h2_options o;
    sidik_identity who;
    sidik_h2_callbacks cb;
    void *ctx;
    sidik_h2_call *calls;
    /* Streams the client may still reset before being cut (a token bucket:
     * RESET_BURST, refilled at RESET_RATE a second). */
    double reset_tokens;
    int64_t reset_refill_ns;
    bool flooded;
    const char *why; /* why the connection was cut; NULL while it is fine */
    /* Output queued outside sidik_h2_conn_recv is announced through wake. */
    bool in_recv;
    void (*wake)(void *arg);
    void *wake_arg;
};

/* Rapid reset (CVE-2023-44487): each stream opened makes the server start
 * work, and a client that cancels at once can repeat that without limit.
 * nghttp2 1.52 (Debian 12) has no limit of its own (upstream added one in
 * 1.57 with these same figures); tests/unit/server/test_h2.c shows it. */
#define RESET_BURST 1000.0
#define RESET_RATE  33.0

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Output queued from outside recv (a receipt sent when the journal caught
 * up, a paused call resumed): the transport must come and take it. */
static void wake(sidik_h2_conn *c)
{
    if (!c->in_recv && c->wake != NULL)
        c->wake(c->wake_arg);
}

/* ---- responses ---------------------------------------------------------------- */

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

/* grpc-message is percent-encoded: bytes outside printable ASCII, and '%'. */
static void percent_encode(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = 0;
}

static int submit_trailers(sidik_h2_call *call)
{
    char status[8];
    snprintf(status, sizeof status, "%d", (int)call->status);
    nghttp2_nv nva[] = {NV("grpc-status", status), NV("grpc-message", call->grpc_message)};
    size_t n = call->grpc_message[0] ? 2 : 1;
    return nghttp2_submit_trailer(call->conn->s, call->stream_id, nva, n) == 0 ? 0 : SIDIK_ENOMEM;
}

static ssize_t read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *ud)
{
    (void)s;
    (void)stream_id;
    (void)ud;
    sidik_h2_call *call = source->ptr;
    size_t n = call->out_len - call->out_off;
    if (n > length)
        n = length;
    memcpy(buf, call->out + call->out_off, n);
    call->out_off += n;
    if (call->out_off == call->out_len) {
        call->out_off = call->out_len = 0;
        if (call->finished) {
            /* The body ends here; the trailers end the stream. */
            *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (submit_trailers(call) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        } else if (n == 0) {
            call->deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    return (ssize_t)n;
}

static int submit_response(sidik_h2_call *call)
{
    if (call->submitted) {
        if (call->deferred) {
            call->deferred = false;
            return nghttp2_session_resume_data(call->conn->s, call->stream_id) == 0 ? 0 : SIDIK_ENOMEM;
        }
        return 0;
    }
    call->submitted = true;
    nghttp2_nv nva[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                        NV("grpc-accept-encoding", "identity")};
    nghttp2_data_provider dp = {.source.ptr = call, .read_callback = read_body};
    return nghttp2_submit_response(call->conn->s, call->stream_id, nva, 3, &dp) == 0 ? 0 : SIDIK_ENOMEM;
}

/* Ends the call with status; with nothing sent yet, trailers-only. */
static int finish(sidik_h2_call *call, sidik_grpc_status status, const char *message)
{
    if (call->finished)
        return SIDIK_ESTATE;
    call->finished = true;
    call->status = status;
    percent_encode(message ? message : "", call->grpc_message, sizeof call->grpc_message);
    sidik_free(call->msg);
    call->msg = NULL;
    call->in_msg = false;
    if (!call->submitted && call->out_len == 0) {
        call->submitted = true;
        char st[8];
        snprintf(st, sizeof st, "%d", (int)status);
        nghttp2_nv nva[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                            NV("grpc-status", st), NV("grpc-message", call->grpc_message)};
        size_t n = call->grpc_message[0] ? 4 : 3;
        return nghttp2_submit_response(call->conn->s, call->stream_id, nva, n, NULL) == 0
                   ? 0
                   : SIDIK_ENOMEM;
    }
    return submit_response(call);
}

static int finish_err(sidik_h2_call *call, int rc, const char *message)
{
    return finish(call, sidik_err_grpc(rc), message ? message : sidik_strerror(rc));
}

int sidik_h2_call_send(sidik_h2_call *call, const uint8_t *p, size_t n)
{
    if (call->finished)
        return SIDIK_ESTATE;
    if (n > call->conn->o.max_message_bytes)
        return SIDIK_ETOOBIG;
    size_t need = call->out_len + SIDIK_GRPC_PREFIX_BYTES + n;
    if (need > call->out_cap) {
        size_t cap = call->out_cap ? call->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *np = sidik_tryrealloc(call->out, cap);
        if (np == NULL)
            return SIDIK_ENOMEM;
        call->out = np;
        call->out_cap = cap;
    }
    sidik_grpc_prefix_encode(call->out + call->out_len, (uint32_t)n);
    if (n > 0)
        memcpy(call->out + call->out_len + SIDIK_GRPC_PREFIX_BYTES, p, n);
    call->out_len = need;
    int rc = submit_response(call);
    wake(call->conn);
    return rc;
}

int sidik_h2_call_finish(sidik_h2_call *call, sidik_grpc_status status, const char *message)
{
    int rc = finish(call, status, message);
    wake(call->conn);
    return rc;
}

void sidik_h2_call_pause(sidik_h2_call *call, bool paused)
{
    if (call->paused == paused)
        return;
    call->paused = paused;
    if (!paused && call->held > 0) {
        nghttp2_session_consume(call->conn->s, call->stream_id, call->held);
        call->held = 0;
        wake(call->conn); /* the WINDOW_UPDATE that lets the peer go on */
    }
}

bool sidik_h2_call_paused(const sidik_h2_call *call)
{
    return call->paused;
}

void sidik_h2_conn_set_wake(sidik_h2_conn *c, void (*fn)(void *arg), void *arg)
{
    c->wake = fn;
    c->wake_arg = arg;
}

const sidik_method_info *sidik_h2_call_method(const sidik_h2_call *call)
{
    return call->method;
}

int64_t sidik_h2_call_deadline_ms(const sidik_h2_call *call)
{
    return call->deadline_ns == 0 ? 0 : (call->deadline_ns + 999999) / 1000000;
}

const sidik_identity *sidik_h2_call_peer(const sidik_h2_call *call)
{
    return &call->conn->who;
}

void sidik_h2_call_set_data(sidik_h2_call *call, void *data)
{
    call->data = data;
}

void *sidik_h2_call_data(const sidik_h2_call *call)
{
    return call->data;
}

/* ---- requests ------------------------------------------------------------------- */

static sidik_h2_call *call_of(nghttp2_session *s, int32_t stream_id)
{
    return nghttp2_session_get_stream_user_data(s, stream_id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    sidik_h2_conn *c = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    sidik_h2_call *call = sidik_trycalloc(1, sizeof *call);
    if (call == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets this stream only */
    call->conn = c;
    call->stream_id = f->hd.stream_id;
    call->next = c->calls;
    if (c->calls != NULL)
        c->calls->prev = call;
    c->calls = call;
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, call);
    return 0;
}

static bool equals(const uint8_t *v, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(v, s, n) == 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nn,
                     const uint8_t *value, size_t vn, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    sidik_h2_call *call = call_of(s, f->hd.stream_id);
    if (call == NULL || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers from the client carry nothing gRPC needs */
    if (equals(name, nn, ":method")) {
        if (equals(value, vn, "POST"))
            call->seen |= H_POST;
    } else if (equals(name, nn, ":path")) {
        if (vn >= sizeof call->path) {
            call->path_bad = true;
        } else {
            memcpy(call->path, value, vn);
            call->path_len = vn;
        }
    } else if (equals(name, nn, "content-type")) {
        /* application/grpc, optionally +proto or ;params */
        if (vn >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
            (vn == 16 || value[16] == '+' || value[16] == ';'))
            call->seen |= H_CONTENT_TYPE;
    } else if (equals(name, nn, "te")) {
        if (equals(value, vn, "trailers"))
            call->seen |= H_TE;
    } else if (equals(name, nn, "grpc-timeout")) {
        uint64_t ns;
        const char *why;
        if (sidik_grpc_timeout_parse((const char *)value, vn, &ns, &why) != 0)
            call->timeout_bad = true;
        else if (ns < (uint64_t)INT64_MAX / 2) /* longer is no deadline at all */
            call->deadline_ns = now_ns() + (int64_t)ns;
    }
    return 0;
}

/* The request's headers are complete: check them, then offer the call. */
static void headers_done(sidik_h2_conn *c, sidik_h2_call *call)
{
    if ((call->seen & (H_POST | H_CONTENT_TYPE)) != (H_POST | H_CONTENT_TYPE) || call->path_bad ||
        call->timeout_bad) {
        finish(call, SIDIK_GRPC_INTERNAL,
               call->timeout_bad ? "malformed grpc-timeout"
                                 : "not a gRPC request (POST, content-type application/grpc)");
        return;
    }
    int rc = sidik_authz_lookup(call->path, call->path_len, &call->method);
    if (rc == 0)
        rc = sidik_authz_check(&c->who, call->method);
    if (rc == 0 && call->deadline_ns != 0 && call->deadline_ns <= now_ns())
        rc = SIDIK_ETIMEOUT;
    if (rc != 0) {
        finish_err(call, rc,
                   rc == SIDIK_EUNSUPPORTED ? "unknown method"
                   : rc == SIDIK_EDENIED    ? "the caller's role may not call this method"
                                            : NULL);
        return;
    }
    call->accepted = true;
    rc = c->cb.on_call(c->ctx, call);
    if (rc != 0)
        finish_err(call, rc, NULL);
}

static void half_closed(sidik_h2_conn *c, sidik_h2_call *call)
{
    if (!call->accepted || call->finished)
        return;
    if (call->prefix_have > 0 || call->in_msg) {
        finish(call, SIDIK_GRPC_INTERNAL, "stream ended inside a message");
        return;
    }
    if (c->cb.on_half_close != NULL)
        c->cb.on_half_close(c->ctx, call);
}

/* One client reset: false when the bucket is empty and the session ends. */
static bool reset_allowed(sidik_h2_conn *c)
{
    int64_t now = now_ns();
    c->reset_tokens += (double)(now - c->reset_refill_ns) * 1e-9 * RESET_RATE;
    if (c->reset_tokens > RESET_BURST)
        c->reset_tokens = RESET_BURST;
    c->reset_refill_ns = now;
    if (c->reset_tokens >= 1) {
        c->reset_tokens -= 1;
        return true;
    }
    if (!c->flooded) {
        c->flooded = true;
        nghttp2_session_terminate_session(c->s, NGHTTP2_ENHANCE_YOUR_CALM);
    }
    return false;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    sidik_h2_conn *c = ud;
    if (f->hd.type == NGHTTP2_RST_STREAM && !reset_allowed(c))
        return 0;
    sidik_h2_call *call = call_of(s, f->hd.stream_id);
    if (call == NULL)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
        headers_done(c, call);
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        half_closed(c, call);
    return 0;
}

/* Feeds one DATA chunk through the message reassembly. */
static void take_data(sidik_h2_conn *c, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    while (n > 0 && !call->finished) {
        if (!call->in_msg) {
            size_t k = SIDIK_GRPC_PREFIX_BYTES - call->prefix_have;
            if (k > n)
                k = n;
            memcpy(call->prefix + call->prefix_have, p, k);
            call->prefix_have += (uint32_t)k;
            p += k;
            n -= k;
            if (call->prefix_have < SIDIK_GRPC_PREFIX_BYTES)
                return;
            bool compressed;
            const char *why;
            int rc = sidik_grpc_prefix_decode(call->prefix, c->o.max_message_bytes, &compressed,
                                              &call->msg_len, &why);
            call->prefix_have = 0;
            if (rc == 0 && compressed)
                rc = SIDIK_EUNSUPPORTED, why = "compressed messages are not accepted (identity only)";
            if (rc != 0) {
                finish_err(call, rc, why);
                return;
            }
            call->msg = sidik_trymalloc(call->msg_len + 1);
            if (call->msg == NULL) {
                finish_err(call, SIDIK_ENOMEM, NULL);
                return;
            }
            call->msg_have = 0;
            call->in_msg = true;
        }
        size_t k = call->msg_len - call->msg_have;
        if (k > n)
            k = n;
        memcpy(call->msg + call->msg_have, p, k);
        call->msg_have += (uint32_t)k;
        p += k;
        n -= k;
        if (call->msg_have == call->msg_len) {
            uint8_t *m = call->msg;
            call->msg = NULL;
            call->in_msg = false;
            int rc = c->cb.on_message(c->ctx, call, m, call->msg_len);
            sidik_free(m);
            if (rc != 0 && !call->finished)
                finish_err(call, rc, NULL);
        }
    }
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *p,
                         size_t n, void *ud)
{
    (void)flags;
    sidik_h2_conn *c = ud;
    sidik_h2_call *call = call_of(s, stream_id);
    if (call != NULL && call->accepted && !call->finished)
        take_data(c, call, p, n);
    /* Acknowledged only now that the application has had it, and not
     * while it holds the call paused (it is behind: the peer must wait). */
    if (call != NULL && call->paused && !call->finished)
        call->held += n;
    else
        nghttp2_session_consume(s, stream_id, n);
    return 0;
}

static void call_free(sidik_h2_conn *c, sidik_h2_call *call)
{
    if (call->prev != NULL)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    if (call->accepted && c->cb.on_close != NULL)
        c->cb.on_close(c->ctx, call);
    if (call->held > 0) /* the stream is gone; its share of the connection window is not */
        nghttp2_session_consume_connection(c->s, call->held);
    sidik_free(call->msg);
    sidik_free(call->out);
    sidik_free(call);
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)error_code;
    sidik_h2_call *call = call_of(s, stream_id);
    if (call != NULL) {
        nghttp2_session_set_stream_user_data(s, stream_id, NULL);
        call_free(ud, call);
    }
    return 0;
}

/* A response complete while the client still sends (a call ended early,
 * a graceful stop): RST_STREAM NO_ERROR asks it to stop sending without
 * discarding the response (RFC 9113 section 8.1, the gRPC HTTP/2
 * protocol). Without it a gRPC client keeps its half open, waits on a
 * window that never opens and, when the connection goes, ends the call
 * with "Socket closed" and drops answers it had read but not yet
 * delivered. */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        nghttp2_session_get_stream_remote_close(s, f->hd.stream_id) == 0 &&
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

/* ---- the connection --------------------------------------------------------------- */

int sidik_h2_conn_create(const sidik_h2_options *o, const sidik_identity *who,
                         const sidik_h2_callbacks *cb, void *ctx, sidik_h2_conn **out)
{
    if (who == NULL || cb == NULL || cb->on_call == NULL || cb->on_message == NULL || out == NULL)
        return SIDIK_EINVAL;
    sidik_h2_conn *c = sidik_trycalloc(1, sizeof *c);
    if (c == NULL)
        return SIDIK_ENOMEM;
    c->o = o != NULL ? *o : (sidik_h2_options){0};
    if (c->o.max_message_bytes == 0)
        c->o.max_message_bytes = DEFAULT_MAX_MESSAGE;
    if (c->o.max_streams == 0)
        c->o.max_streams = DEFAULT_STREAMS;
    if (c->o.window_bytes == 0)
        c->o.window_bytes = DEFAULT_WINDOW;
    c->who = *who;
    c->cb = *cb;
    c->ctx = ctx;
    c->reset_tokens = RESET_BURST;
    c->reset_refill_ns = now_ns();

    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        sidik_free(c);
        return SIDIK_ENOMEM;
    }
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cbs);
        sidik_free(c);
        return SIDIK_ENOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    /* Window updates follow what the application was handed (header). */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    /* At most 32 parameters in one SETTINGS frame: a frame stuffed with
     * them is a connection error. (Rapid reset, CVE-2023-44487, is limited
     * inside nghttp2 since Debian's 1.52.0-1+deb12u1.) */
    nghttp2_option_set_max_settings(opt, 32);
    int rv = nghttp2_session_server_new2(&c->s, cbs, c, opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    if (rv != 0) {
        sidik_free(c);
        return SIDIK_ENOMEM;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->o.max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, c->o.window_bytes},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384},
    };
    /* The connection window is twice a stream's, so one paused stream (an
     * upload waiting for the journal) cannot stall the others. */
    if (nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, SIDIK_ARRAY_SIZE(iv)) != 0 ||
        nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)(2 * (uint64_t)c->o.window_bytes)) != 0) {
        nghttp2_session_del(c->s);
        sidik_free(c);
        return SIDIK_ENOMEM;
    }
    *out = c;
    return 0;
}

void sidik_h2_conn_destroy(sidik_h2_conn *c)
{
    if (c == NULL)
        return;
    while (c->calls != NULL)
        call_free(c, c->calls);
    nghttp2_session_del(c->s);
    sidik_free(c);
}

int sidik_h2_conn_recv(sidik_h2_conn *c, const uint8_t *p, size_t n)
{
    if (c->why != NULL)
        return SIDIK_EFORMAT;
    c->in_recv = true;
    ssize_t rv = nghttp2_session_mem_recv(c->s, p, n);
    c->in_recv = false;
    if (rv == NGHTTP2_ERR_NOMEM)
        return SIDIK_ENOMEM;
    if (c->flooded)
        c->why = "stream reset flood";
    else if (rv == NGHTTP2_ERR_FLOODED)
        c->why = "ping or settings flood (acknowledgements not read)";
    else if (rv < 0)
        c->why = nghttp2_strerror((int)rv);
    return c->why != NULL ? SIDIK_EFORMAT : 0;
}

const char *sidik_h2_conn_why(const sidik_h2_conn *c)
{
    return c->why;
}

int sidik_h2_conn_pending(sidik_h2_conn *c, const uint8_t **p, size_t *n)
{
    ssize_t rv = nghttp2_session_mem_send(c->s, p);
    *n = 0;
    if (rv == NGHTTP2_ERR_NOMEM)
        return SIDIK_ENOMEM;
    if (rv < 0)
        return SIDIK_EFORMAT;
    *n = (size_t)rv;
    return 0;
}

int64_t sidik_h2_conn_next_deadline_ms(const sidik_h2_conn *c)
{
    int64_t first = 0;
    for (const sidik_h2_call *call = c->calls; call != NULL; call = call->next)
        if (call->accepted && !call->finished && call->deadline_ns != 0 &&
            (first == 0 || call->deadline_ns < first))
            first = call->deadline_ns;
    if (first == 0)
        return -1;
    int64_t left = first - now_ns();
    return left <= 0 ? 0 : (left + 999999) / 1000000;
}

void sidik_h2_conn_expire(sidik_h2_conn *c)
{
    int64_t now = now_ns();
    for (sidik_h2_call *call = c->calls; call != NULL; call = call->next)
        if (call->accepted && !call->finished && call->deadline_ns != 0 && call->deadline_ns <= now)
            finish(call, SIDIK_GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
}

int sidik_h2_conn_shutdown(sidik_h2_conn *c, const char *message)
{
    int rc = 0;
    for (sidik_h2_call *call = c->calls; call != NULL; call = call->next)
        if (call->accepted && !call->finished && finish(call, SIDIK_GRPC_UNAVAILABLE, message) != 0)
            rc = SIDIK_ENOMEM;
    if (nghttp2_submit_goaway(c->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->s),
                              NGHTTP2_NO_ERROR, NULL, 0) != 0)
        rc = SIDIK_ENOMEM;
    return rc;
}

int sidik_h2_conn_done(const sidik_h2_conn *c)
{
    return !nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s);
}

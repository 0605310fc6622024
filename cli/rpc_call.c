/*
 * Calls on a client connection (rpc.h, rpc_int.h): one HTTP/2 stream each,
 * gRPC framing both ways, trailers and the status a stock client reports.
 */
#include "rpc_int.h"
#include "sidik/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages are unpacked with sidik's allocator (its counters and fault
 * hook see them); sidik_rpc_message_free frees them with the same. */
static void *pb_alloc(void *data, size_t n)
{
    (void)data;
    return sidik_trymalloc(n > 0 ? n : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    sidik_free(p);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

void sidik_rpc_message_free(ProtobufCMessage *m)
{
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, &pb_allocator);
}

static void set_status(sidik_rpc_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_status(sidik_rpc_status *st, int code, const char *fmt, ...)
{
    st->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
}

/* Ends the call here: the stream is reset (CANCEL, what a stock client
 * sends when it gives up on a call) and forgotten, so whatever the server
 * still sends on it is dropped. */
void sidik__rpc_call_drop(sidik__rpc_call *call)
{
    if (call->done || call->stream_id <= 0)
        return;
    call->done = true;
    nghttp2_session_set_stream_user_data(call->c->h2, call->stream_id, NULL);
    nghttp2_submit_rst_stream(call->c->h2, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
}

static void fail(sidik__rpc_call *call, int rc, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(sidik__rpc_call *call, int rc, int code, const char *fmt, ...)
{
    if (call->fail != 0)
        return;
    call->fail = rc;
    call->fail_st.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->fail_st.message, sizeof call->fail_st.message, fmt, ap);
    va_end(ap);
    sidik__rpc_call_drop(call);
}

/* ---- the response ------------------------------------------------------------------- */

static int hex(uint8_t ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* grpc-message is percent-encoded (the gRPC HTTP/2 protocol); a '%' not
 * followed by two hex digits stands for itself. Control characters become
 * '?': the text ends up on a terminal, where they could rewrite it. */
static void percent_decode(const uint8_t *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int hi, lo;
        if (v[i] == '%' && i + 2 < n && (hi = hex(v[i + 1])) >= 0 && (lo = hex(v[i + 2])) >= 0) {
            out[o] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o] = (char)v[i];
        }
        if ((unsigned char)out[o] < 0x20 || out[o] == 0x7f)
            out[o] = '?';
        o++;
    }
    out[o] = 0;
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
    sidik__rpc_call *call = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (call == NULL || call->done || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    bool first = f->headers.cat == NGHTTP2_HCAT_RESPONSE;
    if (first && equals(name, nn, ":status")) {
        int v = 0;
        for (size_t i = 0; i < vn && i < 4; i++)
            v = value[i] >= '0' && value[i] <= '9' ? v * 10 + (value[i] - '0') : -1000;
        call->http_status = vn == 3 && v > 0 ? v : -1;
    } else if (first && equals(name, nn, "content-type")) {
        /* application/grpc, optionally +proto or ;parameters */
        call->content_type_ok = vn >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                                (vn == 16 || value[16] == '+' || value[16] == ';');
    } else if (equals(name, nn, "grpc-status")) {
        int v = 0;
        for (size_t i = 0; i < vn && v >= 0; i++)
            v = value[i] >= '0' && value[i] <= '9' && v < 1000 ? v * 10 + (value[i] - '0') : -1;
        /* A status that is not a number is UNKNOWN (grpc's own clients). */
        call->grpc_status = vn > 0 && v >= 0 ? v : SIDIK_GRPC_UNKNOWN;
    } else if (equals(name, nn, "grpc-message")) {
        percent_decode(value, vn, call->grpc_message, sizeof call->grpc_message);
    }
    return 0;
}

/* A whole message: unpacked and handed on, or the call ends. */
static void deliver(sidik__rpc_call *call, const uint8_t *p, size_t n)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(call->desc, &pb_allocator, n, p);
    if (m == NULL) {
        fail(call, SIDIK_EFORMAT, SIDIK_GRPC_INTERNAL,
             "the server's answer (%zu bytes) does not parse as %s", n, call->desc->name);
        return;
    }
    call->messages++;
    int rc = call->on_message(call->ctx, m);
    if (rc != 0)
        fail(call, rc, SIDIK_GRPC_CANCELLED, "cancelled by the client");
}

/* Feeds one DATA chunk through the 5-byte-prefix reassembly. */
static void take_data(sidik__rpc_call *call, const uint8_t *p, size_t n)
{
    while (n > 0 && !call->done) {
        if (!call->in_msg) {
            size_t k = sizeof call->prefix - call->prefix_have;
            k = k < n ? k : n;
            memcpy(call->prefix + call->prefix_have, p, k);
            call->prefix_have += (uint32_t)k;
            p += k;
            n -= k;
            if (call->prefix_have < sizeof call->prefix)
                return;
            call->prefix_have = 0;
            const uint8_t *x = call->prefix;
            uint32_t len = (uint32_t)x[1] << 24 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 8 | x[4];
            if (x[0] == 1) {
                /* We send no grpc-accept-encoding, so identity is all a
                 * server may use. */
                fail(call, SIDIK_EUNSUPPORTED, SIDIK_GRPC_INTERNAL,
                     "the server sent a compressed message, though this client offered no "
                     "compression");
                return;
            }
            if (x[0] != 0) {
                fail(call, SIDIK_EFORMAT, SIDIK_GRPC_INTERNAL,
                     "the server's message prefix has flag byte %u (0 or 1 expected)", x[0]);
                return;
            }
            if (len > SIDIK_RPC_MAX_MESSAGE) {
                fail(call, SIDIK_ETOOBIG, SIDIK_GRPC_RESOURCE_EXHAUSTED,
                     "the server's answer of %u bytes is over this client's limit of %u MiB", len,
                     SIDIK_RPC_MAX_MESSAGE >> 20);
                return;
            }
            call->msg = sidik_trymalloc(len > 0 ? len : 1);
            if (call->msg == NULL) {
                fail(call, SIDIK_ENOMEM, SIDIK_GRPC_RESOURCE_EXHAUSTED,
                     "out of memory for a %u-byte answer", len);
                return;
            }
            call->msg_len = len;
            call->msg_have = 0;
            call->in_msg = true;
        }
        size_t k = call->msg_len - call->msg_have;
        k = k < n ? k : n;
        memcpy(call->msg + call->msg_have, p, k);
        call->msg_have += (uint32_t)k;
        p += k;
        n -= k;
        if (call->msg_have == call->msg_len) {
            uint8_t *m = call->msg;
            call->msg = NULL;
            call->in_msg = false;
            deliver(call, m, call->msg_len);
            sidik_free(m);
        }
    }
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *p,
                         size_t n, void *ud)
{
    (void)flags;
    (void)ud;
    sidik__rpc_call *call = nghttp2_session_get_stream_user_data(s, stream_id);
    if (call != NULL && !call->done)
        take_data(call, p, n);
    /* Taken (buffered or delivered) or dropped: either way the window may
     * reopen by as much. For a stream already gone only the connection's
     * window counts, and nghttp2 does that part. */
    nghttp2_session_consume(s, stream_id, n);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)ud;
    sidik__rpc_call *call = nghttp2_session_get_stream_user_data(s, stream_id);
    if (call != NULL) {
        nghttp2_session_set_stream_user_data(s, stream_id, NULL);
        call->done = true;
        call->rst = error_code;
    }
    return 0;
}

/* The server ended its side (END_STREAM on its trailers or last DATA):
 * the call is over even when ours is still open, as in a stock client,
 * since a server may answer before the request ends (a trailers-only
 * UNIMPLEMENTED on a bidirectional call). Our side, if still open, is
 * reset so the stream is freed rather than left half-closed for good. */
void sidik__rpc_call_frame(nghttp2_session *s, const nghttp2_frame *f)
{
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
        !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return;
    sidik__rpc_call *call = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (call == NULL || call->done)
        return;
    call->done = true;
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, NULL);
    if (nghttp2_session_get_stream_local_close(s, f->hd.stream_id) == 0)
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
}

void sidik__rpc_stream_callbacks(nghttp2_session_callbacks *cbs)
{
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
}

/* ---- the request ----------------------------------------------------------------------- */

/* nghttp2 asks for the stream's next DATA bytes. The call is found through
 * the stream, not the data source, so a call already ended (its storage
 * gone) is never touched. */
static ssize_t read_request(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)src;
    (void)ud;
    sidik__rpc_call *call = nghttp2_session_get_stream_user_data(s, stream_id);
    if (call == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    size_t n = call->out_len - call->out_off;
    n = n < length ? n : length;
    memcpy(buf, call->out + call->out_off, n);
    call->out_off += n;
    if (call->out_off == call->out_len) {
        call->out_off = call->out_len = 0;
        if (call->send_closed)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        else if (n == 0) {
            call->deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    return (ssize_t)n;
}

static int resume(sidik__rpc_call *call)
{
    if (!call->deferred)
        return 0;
    call->deferred = false;
    return nghttp2_session_resume_data(call->c->h2, call->stream_id) == 0 ? 0 : SIDIK_ENOMEM;
}

#define NV(n, v)                                                                       \
    {                                                                                  \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE \
    }

int sidik__rpc_call_start(sidik_rpc *c, sidik__rpc_call *call, const char *path,
                          const ProtobufCMessageDescriptor *resp_desc,
                          int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx,
                          uint32_t timeout_ms)
{
    memset(call, 0, sizeof *call);
    call->c = c;
    call->desc = resp_desc;
    call->on_message = on_message;
    call->ctx = ctx;
    call->grpc_status = -1;
    /* GOAWAY first: the server usually closes the socket right after it,
     * and "going away" says more than "connection lost". */
    if (c->goaway)
        return SIDIK_ESHUTDOWN;
    if (c->dead != 0)
        return c->dead;
    if (timeout_ms == 0)
        timeout_ms = c->timeout_ms;
    call->deadline_ns = sidik__rpc_now_ns() + (int64_t)timeout_ms * 1000000;
    /* grpc-timeout: at most 8 digits; milliseconds fit up to ~27 hours,
     * beyond the longest timeout the settings allow. */
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%um", timeout_ms);
    nghttp2_nv nva[] = {NV(":method", "POST"),
                        NV(":scheme", "https"),
                        NV(":path", path),
                        NV(":authority", c->authority),
                        NV("content-type", "application/grpc"),
                        NV("te", "trailers"),
                        NV("grpc-timeout", timeout),
                        NV("user-agent", "sidik-cli")};
    nghttp2_data_provider dp = {.source.ptr = call, .read_callback = read_request};
    int32_t id = nghttp2_submit_request(c->h2, NULL, nva, SIDIK_ARRAY_SIZE(nva), &dp, call);
    if (id < 0)
        return id == NGHTTP2_ERR_NOMEM ? SIDIK_ENOMEM : SIDIK_ESHUTDOWN;
    call->stream_id = id;
    return 0;
}

/* Room for one framed message of n bytes at the end of the queue: *at
 * gets where its bytes go (after the 5-byte prefix, written here). A long
 * call appends while earlier bytes are still going out, so what nghttp2
 * has already taken is moved out first and the queue holds only what is
 * still to be sent. */
static int reserve(sidik__rpc_call *call, size_t n, uint8_t **at)
{
    if (call->send_closed || call->done)
        return SIDIK_ESTATE;
    if (n > UINT32_MAX)
        return SIDIK_ETOOBIG;
    if (call->out_off > 0) {
        memmove(call->out, call->out + call->out_off, call->out_len - call->out_off);
        call->out_len -= call->out_off;
        call->out_off = 0;
    }
    size_t need = call->out_len + 5 + n;
    if (need > call->out_cap) {
        size_t cap = call->out_cap > 0 ? call->out_cap : 256;
        while (cap < need)
            cap *= 2;
        uint8_t *p = sidik_tryrealloc(call->out, cap);
        if (p == NULL)
            return SIDIK_ENOMEM;
        call->out = p;
        call->out_cap = cap;
    }
    uint8_t *p = call->out + call->out_len;
    p[0] = 0; /* not compressed */
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    call->out_len = need;
    *at = p + 5;
    return 0;
}

int sidik__rpc_call_send(sidik__rpc_call *call, const ProtobufCMessage *m)
{
    uint8_t *at;
    int rc = reserve(call, protobuf_c_message_get_packed_size(m), &at);
    if (rc != 0)
        return rc;
    protobuf_c_message_pack(m, at);
    return resume(call);
}

int sidik__rpc_call_send_packed(sidik__rpc_call *call, const uint8_t *p, size_t n)
{
    uint8_t *at;
    int rc = reserve(call, n, &at);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(at, p, n);
    return resume(call);
}

int sidik__rpc_call_close_send(sidik__rpc_call *call)
{
    call->send_closed = true;
    return resume(call);
}

/* ---- the outcome --------------------------------------------------------------------- */

/* What a stock client reports for an HTTP status that is not 200
 * (grpc/doc/http-grpc-status-mapping.md). */
static int http_to_grpc(int http)
{
    switch (http) {
    case 400:
        return SIDIK_GRPC_INTERNAL;
    case 401:
        return SIDIK_GRPC_UNAUTHENTICATED;
    case 403:
        return SIDIK_GRPC_PERMISSION_DENIED;
    case 404:
        return SIDIK_GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return SIDIK_GRPC_UNAVAILABLE;
    default:
        return SIDIK_GRPC_UNKNOWN;
    }
}

/* The stream is over: what it came to. */
int sidik__rpc_call_outcome(sidik__rpc_call *call, sidik_rpc_status *st)
{
    sidik_rpc *c = call->c;
    if (call->fail != 0) {
        *st = call->fail_st;
        return call->fail;
    }
    if (call->http_status != 0 && call->http_status != 200) {
        set_status(st, http_to_grpc(call->http_status),
                   "%s answered HTTP status %d, not a gRPC response", c->server, call->http_status);
        return SIDIK_EFORMAT;
    }
    if (call->grpc_status >= 0) {
        if (!call->content_type_ok) {
            set_status(st, SIDIK_GRPC_UNKNOWN, "%s answered without content-type application/grpc",
                       c->server);
            return SIDIK_EFORMAT;
        }
        if (call->grpc_status == 0 && (call->in_msg || call->prefix_have > 0)) {
            set_status(st, SIDIK_GRPC_INTERNAL, "the server's stream ended inside a message");
            return SIDIK_EFORMAT;
        }
        st->code = call->grpc_status;
        snprintf(st->message, sizeof st->message, "%s", call->grpc_message);
        return 0;
    }
    /* Closed without a status: a reset, or a GOAWAY that left it out. */
    switch (call->rst) {
    case NGHTTP2_REFUSED_STREAM:
        set_status(st, SIDIK_GRPC_UNAVAILABLE, "%s did not take the call (stream refused%s); retry",
                   c->server, c->goaway ? ", the server is going away" : "");
        return SIDIK_EBUSY;
    case NGHTTP2_CANCEL:
        set_status(st, SIDIK_GRPC_CANCELLED, "%s cancelled the call", c->server);
        return SIDIK_ECANCELLED;
    case NGHTTP2_ENHANCE_YOUR_CALM:
        set_status(st, SIDIK_GRPC_RESOURCE_EXHAUSTED, "%s reset the call: ENHANCE_YOUR_CALM",
                   c->server);
        return SIDIK_EBUSY;
    case NGHTTP2_NO_ERROR:
        set_status(st, SIDIK_GRPC_INTERNAL, "%s ended the call without a grpc-status", c->server);
        return SIDIK_EFORMAT;
    default:
        set_status(st, SIDIK_GRPC_INTERNAL, "%s reset the call: HTTP/2 %s", c->server,
                   nghttp2_http2_strerror(call->rst));
        return SIDIK_EINTERNAL;
    }
}

/* The status for a connection that cannot carry a call. */
void sidik__rpc_conn_status(sidik_rpc *c, int rc, sidik_rpc_status *st)
{
    if (rc == SIDIK_ESHUTDOWN && (c->goaway || c->dead == 0))
        set_status(st, SIDIK_GRPC_UNAVAILABLE,
                   "%s is closing this connection (GOAWAY); connect again", c->server);
    else if (c->dead != 0)
        set_status(st, SIDIK_GRPC_UNAVAILABLE, "%s", c->dead_why);
    else
        set_status(st, sidik_err_grpc(rc), "%s", sidik_strerror(rc));
}

int sidik__rpc_call_wait(sidik__rpc_call *call, sidik_rpc_status *st)
{
    sidik_rpc *c = call->c;
    while (!call->done) {
        int rc = sidik__rpc_pump(c, call->deadline_ns);
        if (rc == SIDIK_ETIMEOUT) {
            sidik__rpc_call_drop(call);
            sidik__rpc_flush_nowait(c);
            set_status(st, SIDIK_GRPC_DEADLINE_EXCEEDED,
                       "no answer from %s within %.3g s; "
                       "a longer --timeout, or check the server's load",
                       c->server, c->timeout_ms / 1000.0);
            return rc;
        }
        if (rc != 0 && !call->done) {
            sidik__rpc_call_drop(call);
            sidik__rpc_conn_status(c, rc, st);
            return rc;
        }
    }
    return sidik__rpc_call_outcome(call, st);
}

void sidik__rpc_call_end(sidik__rpc_call *call)
{
    if (call->c != NULL && call->stream_id > 0 && !call->done) {
        sidik__rpc_call_drop(call);
        sidik__rpc_flush_nowait(call->c);
    }
    sidik_free(call->out);
    sidik_free(call->msg);
    call->out = call->msg = NULL;
}

/* ---- unary and server-streaming ------------------------------------------------------ */

typedef struct one_answer {
    ProtobufCMessage *m;
    unsigned extra;
} one_answer;

static int keep_one(void *ctx, ProtobufCMessage *m)
{
    one_answer *a = ctx;
    if (a->m == NULL) {
        a->m = m;
    } else {
        a->extra++;
        sidik_rpc_message_free(m);
    }
    return 0;
}

/* Starts a call, sends req and half-closes: the common part of a call
 * with one request. */
static int one_request(sidik_rpc *c, sidik__rpc_call *call, const char *path,
                       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                       int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx,
                       sidik_rpc_status *st)
{
    int rc = sidik__rpc_call_start(c, call, path, desc, on_message, ctx, 0);
    if (rc == 0)
        rc = sidik__rpc_call_send(call, req);
    if (rc == 0)
        rc = sidik__rpc_call_close_send(call);
    if (rc != 0) {
        sidik__rpc_conn_status(c, rc, st);
        return rc;
    }
    return sidik__rpc_call_wait(call, st);
}

static int bad_args(sidik_rpc_status *st)
{
    if (st != NULL)
        set_status(st, SIDIK_GRPC_INTERNAL, "sidik_rpc: a required argument is NULL");
    return SIDIK_EINVAL;
}

int sidik_rpc_unary(sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                    sidik_rpc_status *st)
{
    if (resp != NULL)
        *resp = NULL;
    if (c == NULL || path == NULL || req == NULL || resp_desc == NULL || resp == NULL || st == NULL)
        return bad_args(st);
    one_answer a = {0};
    sidik__rpc_call call;
    int rc = one_request(c, &call, path, req, resp_desc, keep_one, &a, st);
    if (rc == 0 && st->code == 0 && (a.m == NULL || a.extra > 0)) {
        set_status(st, SIDIK_GRPC_INTERNAL, "%s answered a unary call with %u messages", c->server,
                   a.extra + (a.m != NULL));
        rc = SIDIK_EFORMAT;
    }
    if (rc == 0 && st->code == 0) {
        *resp = a.m;
        a.m = NULL;
    }
    sidik_rpc_message_free(a.m);
    sidik__rpc_call_end(&call);
    return rc;
}

int sidik_rpc_stream(sidik_rpc *c, const char *path, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc,
                     int (*on_message)(void *ctx, ProtobufCMessage *m), void *ctx,
                     sidik_rpc_status *st)
{
    if (c == NULL || path == NULL || req == NULL || resp_desc == NULL || on_message == NULL ||
        st == NULL)
        return bad_args(st);
    sidik__rpc_call call;
    int rc = one_request(c, &call, path, req, resp_desc, on_message, ctx, st);
    sidik__rpc_call_end(&call);
    return rc;
}

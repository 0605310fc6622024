/*
 * gRPC over HTTP/2, in memory: a stock nghttp2 client session talks to the
 * server connection, bytes pumped between them. Unary, client-streaming,
 * server-streaming and bidirectional calls, messages spanning many frames, and every refusal with its gRPC
 * status: unknown method, wrong role, not gRPC, too big, compressed, bad
 * and expired deadlines, a message cut by the end of the stream, garbage
 * instead of HTTP/2.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/grpc_frame.h"
#include "sidik/h2.h"
#include "h2_client.h"

#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the server side: a small application --------------------------------- */

typedef struct app {
    int calls, closes, half_closes;
    int gathered; /* messages of the client-streaming call so far */
} app;

static int app_call(void *ctx, sidik_h2_call *call)
{
    app *a = ctx;
    a->calls++;
    if (sidik_h2_call_method(call)->method == SIDIK_METHOD_STATUS_LIST)
        return SIDIK_EBUSY; /* the application refuses: UNAVAILABLE */
    return 0;
}

static int app_message(void *ctx, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    if (n == 4 && memcmp(p, "fail", 4) == 0)
        return SIDIK_EINVAL;
    sidik_method m = sidik_h2_call_method(call)->method;
    if (m == SIDIK_METHOD_INGEST_UPLOAD)
        return sidik_h2_call_send(call, p, n); /* echo; finished at half-close */
    if (m == SIDIK_METHOD_AUDIT_VERIFY_CHAIN) { /* client-streaming: answered at half-close */
        ((app *)ctx)->gathered++;
        return 0;
    }
    if (m == SIDIK_METHOD_ADMIN_REBALANCE) { /* server-streaming: three answers to one */
        for (int i = 1; i <= 3; i++) {
            uint8_t step[] = {'s', 't', 'e', 'p', (uint8_t)('0' + i)};
            int rc = sidik_h2_call_send(call, step, sizeof step);
            if (rc != 0)
                return rc;
        }
        return sidik_h2_call_finish(call, SIDIK_GRPC_OK, NULL);
    }
    uint8_t pong[64] = "pong:";
    size_t k = n < 50 ? n : 50;
    memcpy(pong + 5, p, k);
    int rc = sidik_h2_call_send(call, pong, 5 + k);
    return rc != 0 ? rc : sidik_h2_call_finish(call, SIDIK_GRPC_OK, NULL);
}

static void app_half_close(void *ctx, sidik_h2_call *call)
{
    app *a = ctx;
    a->half_closes++;
    if (sidik_h2_call_method(call)->method == SIDIK_METHOD_INGEST_UPLOAD)
        sidik_h2_call_finish(call, SIDIK_GRPC_OK, "100% done\n");
    if (sidik_h2_call_method(call)->method == SIDIK_METHOD_AUDIT_VERIFY_CHAIN) {
        uint8_t n[] = {'n', '=', (uint8_t)('0' + a->gathered)};
        if (sidik_h2_call_send(call, n, sizeof n) == 0)
            sidik_h2_call_finish(call, SIDIK_GRPC_OK, NULL);
    }
}

static void app_close(void *ctx, sidik_h2_call *call)
{
    (void)call;
    ((app *)ctx)->closes++;
}

static const sidik_h2_callbacks app_cb = {app_call, app_message, app_half_close, app_close};

typedef struct call_opts {
    sidik_role role;
    const char *path, *content_type, *timeout;
    uint32_t max_message;
} call_opts;

/* One call from a fresh connection; returns the reply (caller frees). */
static reply *call(const call_opts *o, request *q, app *a)
{
    sidik_identity who = {o->role ? o->role : SIDIK_ROLE_OFFICE, "JKT-01"};
    sidik_h2_options opt = {.max_message_bytes = o->max_message};
    sidik_h2_conn *sv;
    assert_int_equal(sidik_h2_conn_create(&opt, &who, &app_cb, a, &sv), 0);
    nghttp2_session *cl = client_new();
    reply *r = calloc(1, sizeof *r);
    nghttp2_nv nva[6] = {NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "localhost"),
                         NV(":path", o->path),
                         NV("content-type", o->content_type ? o->content_type : "application/grpc"),
                         NV("te", "trailers")};
    nghttp2_nv with_timeout[7];
    memcpy(with_timeout, nva, sizeof nva);
    with_timeout[6] = (nghttp2_nv)NV("grpc-timeout", o->timeout ? o->timeout : "");
    nghttp2_data_provider dp = {.source.ptr = q, .read_callback = cl_read};
    int32_t id = nghttp2_submit_request(cl, NULL, o->timeout ? with_timeout : nva, o->timeout ? 7 : 6,
                                        &dp, r);
    assert_true(id > 0);
    pump(cl, sv);
    assert_true(r->closed);
    nghttp2_session_del(cl);
    sidik_h2_conn_destroy(sv);
    free(q->body);
    return r;
}

static void test_server_h2_unary(void **state)
{
    (void)state;
    app a = {0};
    const char *m[] = {"hello"};
    size_t l[] = {5};
    request q = frame(m, l, 1, 0);
    reply *r = call(&(call_opts){.path = "/sidik.v1.Status/Get"}, &q, &a);
    assert_string_equal(r->status, "200");
    assert_string_equal(r->content_type, "application/grpc");
    assert_string_equal(r->grpc_status, "0");
    uint32_t len;
    const uint8_t *p = message_at(r, 0, &len);
    assert_non_null(p);
    assert_int_equal(len, 10);
    assert_memory_equal(p, "pong:hello", 10);
    assert_null(message_at(r, 1, &len));
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.closes, 1);
    free(r);
}

static void test_server_h2_bidi_large_messages(void **state)
{
    (void)state;
    app a = {0};
    size_t big = 300 * 1024; /* many DATA frames and window updates each way */
    char *b = malloc(big);
    for (size_t i = 0; i < big; i++)
        b[i] = (char)(i * 7);
    const char *m[] = {"one", b, ""};
    size_t l[] = {3, big, 0};
    request q = frame(m, l, 3, 0);
    reply *r = call(&(call_opts){.path = "/sidik.v1.Ingest/Upload"}, &q, &a);
    assert_string_equal(r->grpc_status, "0");
    assert_string_equal(r->grpc_message, "100%25 done%0A"); /* percent-encoded */
    uint32_t len;
    const uint8_t *p = message_at(r, 0, &len);
    assert_int_equal(len, 3);
    p = message_at(r, 1, &len);
    assert_int_equal(len, big);
    assert_memory_equal(p, b, big);
    p = message_at(r, 2, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_int_equal(a.half_closes, 1);
    assert_int_equal(a.closes, 1);
    free(b);
    free(r);
}

/* Client-streaming: three messages in, one answer after the half-close. */
static void test_server_h2_client_streaming(void **state)
{
    (void)state;
    app a = {0};
    const char *m[] = {"a", "bb", "ccc"};
    size_t l[] = {1, 2, 3};
    request q = frame(m, l, 3, 0);
    reply *r = call(&(call_opts){.role = SIDIK_ROLE_AUDITOR, .path = "/sidik.v1.Audit/VerifyChain"},
                    &q, &a);
    assert_string_equal(r->grpc_status, "0");
    uint32_t len;
    const uint8_t *p = message_at(r, 0, &len);
    assert_non_null(p);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "n=3", 3);
    assert_null(message_at(r, 1, &len));
    assert_int_equal(a.half_closes, 1);
    free(r);
}

/* Server-streaming: one message in, three answers, then the trailers. */
static void test_server_h2_server_streaming(void **state)
{
    (void)state;
    app a = {0};
    const char *m[] = {"go"};
    size_t l[] = {2};
    request q = frame(m, l, 1, 0);
    reply *r = call(&(call_opts){.role = SIDIK_ROLE_ADMIN, .path = "/sidik.v1.Admin/Rebalance"}, &q,
                    &a);
    assert_string_equal(r->grpc_status, "0");
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t len;
        const uint8_t *p = message_at(r, i, &len);
        assert_non_null(p);
        assert_int_equal(len, 5);
        assert_int_equal(p[4], '1' + i);
    }
    uint32_t len;
    assert_null(message_at(r, 3, &len));
    free(r);
}

/* A request body that sends what it holds, then waits: the stream stays
 * open, as a client that stalls mid-upload. */
static ssize_t cl_read_stall(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                             uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    request *q = src->ptr;
    if (q->off == q->len)
        return NGHTTP2_ERR_DEFERRED;
    ssize_t n = cl_read(s, id, buf, length, flags, src, ud);
    *flags &= ~(uint32_t)NGHTTP2_DATA_FLAG_EOF; /* never the end */
    return n;
}

/* A running call past its grpc-timeout is ended DEADLINE_EXCEEDED by
 * sidik_h2_conn_expire, at the time sidik_h2_conn_next_deadline_ms said. */
static void test_server_h2_deadline_expires(void **state)
{
    (void)state;
    app a = {0};
    sidik_identity who = {SIDIK_ROLE_OFFICE, "JKT-01"};
    sidik_h2_options opt = {0};
    sidik_h2_conn *sv;
    assert_int_equal(sidik_h2_conn_create(&opt, &who, &app_cb, &a, &sv), 0);
    assert_int_equal(sidik_h2_conn_next_deadline_ms(sv), -1);
    nghttp2_session *cl = client_new();
    reply *r = calloc(1, sizeof *r);
    const char *m[] = {"first"};
    size_t l[] = {5};
    request q = frame(m, l, 1, 0);
    nghttp2_nv nva[] = {NV(":method", "POST"),         NV(":scheme", "https"),
                        NV(":authority", "localhost"), NV(":path", "/sidik.v1.Ingest/Upload"),
                        NV("content-type", "application/grpc"), NV("te", "trailers"),
                        NV("grpc-timeout", "40m")};
    nghttp2_data_provider dp = {.source.ptr = &q, .read_callback = cl_read_stall};
    assert_true(nghttp2_submit_request(cl, NULL, nva, 7, &dp, r) > 0);
    pump(cl, sv);
    uint32_t len;
    assert_non_null(message_at(r, 0, &len)); /* the echo: the call runs */
    assert_false(r->closed);
    int64_t left = sidik_h2_conn_next_deadline_ms(sv);
    assert_true(left >= 0 && left <= 40);
    sidik_h2_conn_expire(sv); /* too early: nothing happens */
    pump(cl, sv);
    assert_false(r->closed);
    usleep(50 * 1000);
    assert_int_equal(sidik_h2_conn_next_deadline_ms(sv), 0);
    sidik_h2_conn_expire(sv);
    pump(cl, sv);
    assert_string_equal(r->grpc_status, "4"); /* DEADLINE_EXCEEDED */
    assert_string_equal(r->grpc_message, "deadline exceeded");
    /* The client still had its half open: RST_STREAM NO_ERROR closes it
     * and the server's call with it. */
    assert_true(r->closed);
    assert_int_equal(r->error_code, NGHTTP2_NO_ERROR);
    assert_int_equal(a.closes, 1);
    assert_int_equal(sidik_h2_conn_next_deadline_ms(sv), -1);
    nghttp2_session_del(cl);
    sidik_h2_conn_destroy(sv);
    assert_int_equal(a.closes, 1);
    free(q.body);
    free(r);
}

/* A graceful stop in the middle of an upload: the answers already queued,
 * then UNAVAILABLE with the message, the stream reset NO_ERROR so the
 * client stops sending, a GOAWAY, and the connection done. */
static void test_server_h2_shutdown(void **state)
{
    (void)state;
    app a = {0};
    sidik_identity who = {SIDIK_ROLE_OFFICE, "JKT-01"};
    sidik_h2_options opt = {0};
    sidik_h2_conn *sv;
    assert_int_equal(sidik_h2_conn_create(&opt, &who, &app_cb, &a, &sv), 0);
    nghttp2_session *cl = client_new();
    reply *r = calloc(1, sizeof *r);
    const char *m[] = {"first", "second"};
    size_t l[] = {5, 6};
    request q = frame(m, l, 2, 0);
    nghttp2_nv nva[] = {NV(":method", "POST"),         NV(":scheme", "https"),
                        NV(":authority", "localhost"), NV(":path", "/sidik.v1.Ingest/Upload"),
                        NV("content-type", "application/grpc"), NV("te", "trailers")};
    nghttp2_data_provider dp = {.source.ptr = &q, .read_callback = cl_read_stall};
    assert_true(nghttp2_submit_request(cl, NULL, nva, 6, &dp, r) > 0);
    pump(cl, sv);
    assert_false(r->closed);
    assert_false(sidik_h2_conn_done(sv));
    assert_int_equal(sidik_h2_conn_shutdown(sv, "stopping; send it again"), 0);
    pump(cl, sv);
    uint32_t len;
    const uint8_t *p = message_at(r, 1, &len); /* both echoes came first */
    assert_non_null(p);
    assert_memory_equal(p, "second", 6);
    assert_string_equal(r->grpc_status, "14"); /* UNAVAILABLE */
    assert_string_equal(r->grpc_message, "stopping; send it again");
    assert_true(r->closed);
    assert_int_equal(r->error_code, NGHTTP2_NO_ERROR);
    assert_int_equal(a.closes, 1);
    assert_int_equal(nghttp2_session_want_read(cl), 0); /* the GOAWAY arrived */
    assert_true(sidik_h2_conn_done(sv));
    nghttp2_session_del(cl);
    sidik_h2_conn_destroy(sv);
    free(q.body);
    free(r);
}

static void test_server_h2_refusals(void **state)
{
    (void)state;
    char huge[2000];
    memset(huge, 'h', sizeof huge);
    struct {
        call_opts o;
        const char *msg;
        size_t len;
        int compressed, truncate;
        const char *status;
        int reaches_app;
    } cases[] = {
        {{.path = "/sidik.v1.Nope/Nothing"}, "x", 1, 0, 0, "12", 0},
        {{.path = "/sidik.v1.Admin/Stats"}, "x", 1, 0, 0, "7", 0},              /* office role */
        {{.path = "/sidik.v1.Admin/Stats", .role = SIDIK_ROLE_ADMIN}, "x", 1, 0, 0, "0", 1},
        {{.path = "/sidik.v1.Status/Get", .content_type = "application/json"}, "x", 1, 0, 0, "13", 0},
        {{.path = "/sidik.v1.Status/Get", .content_type = "application/grpc+proto"}, "x", 1, 0, 0, "0", 1},
        {{.path = "/sidik.v1.Status/Get", .max_message = 1024}, huge, sizeof huge, 0, 0, "8", 1},
        {{.path = "/sidik.v1.Status/Get"}, "x", 1, 1, 0, "12", 1},              /* compressed */
        {{.path = "/sidik.v1.Status/Get", .timeout = "soon"}, "x", 1, 0, 0, "13", 0},
        {{.path = "/sidik.v1.Status/Get", .timeout = "1n"}, "x", 1, 0, 0, "4", 0},
        {{.path = "/sidik.v1.Status/Get", .timeout = "5S"}, "x", 1, 0, 0, "0", 1},
        {{.path = "/sidik.v1.Status/Get", .timeout = "99999999H"}, "x", 1, 0, 0, "0", 1},
        {{.path = "/sidik.v1.Status/Get"}, "fail", 4, 0, 0, "3", 1},            /* the app says no */
        {{.path = "/sidik.v1.Status/List"}, "x", 1, 0, 0, "14", 1},             /* app refuses call */
        {{.path = "/sidik.v1.Status/Get"}, "hello", 5, 0, 3, "13", 1},          /* cut mid-message */
    };
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(cases); i++) {
        app a = {0};
        const char *m[] = {cases[i].msg};
        size_t l[] = {cases[i].len};
        request q = frame(m, l, 1, cases[i].compressed);
        q.len -= (size_t)cases[i].truncate;
        reply *r = call(&cases[i].o, &q, &a);
        if (strcmp(r->grpc_status, cases[i].status) != 0)
            print_error("case %zu: grpc-status %s (%s)\n", i, r->grpc_status, r->grpc_message);
        assert_string_equal(r->grpc_status, cases[i].status);
        assert_string_equal(r->status, "200");
        assert_int_equal(a.calls, cases[i].reaches_app);
        assert_int_equal(a.closes, a.calls); /* every accepted call closed once */
        free(r);
    }
}

static void test_server_h2_garbage(void **state)
{
    (void)state;
    app a = {0};
    sidik_identity who = {SIDIK_ROLE_OFFICE, "JKT-01"};
    sidik_h2_conn *sv;
    assert_int_equal(sidik_h2_conn_create(NULL, &who, &app_cb, &a, &sv), 0);
    const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(sidik_h2_conn_recv(sv, (const uint8_t *)junk, sizeof junk - 1), SIDIK_EFORMAT);
    const uint8_t *p;
    size_t n;
    assert_int_equal(sidik_h2_conn_pending(sv, &p, &n), 0);
    assert_true(n > 0); /* SETTINGS and the GOAWAY */
    sidik_h2_conn_destroy(sv);
    sidik_h2_callbacks none = {0};
    assert_int_equal(sidik_h2_conn_create(NULL, &who, &none, &a, &sv), SIDIK_EINVAL);
    assert_int_equal(sidik_h2_conn_create(NULL, NULL, &app_cb, &a, &sv), SIDIK_EINVAL);
}


/* ---- floods: a client that never reads its answers ------------------------- */

static const uint8_t client_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* A raw frame: 9-byte header, then payload. */
static size_t raw_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream,
                        const uint8_t *payload, uint32_t n)
{
    out[0] = (uint8_t)(n >> 16), out[1] = (uint8_t)(n >> 8), out[2] = (uint8_t)n;
    out[3] = type, out[4] = flags;
    out[5] = (uint8_t)(stream >> 24), out[6] = (uint8_t)(stream >> 16);
    out[7] = (uint8_t)(stream >> 8), out[8] = (uint8_t)stream;
    if (n > 0)
        memcpy(out + 9, payload, n);
    return 9 + n;
}

/* A server connection for an office, fed the client preface and an empty
 * SETTINGS, as a raw client would start. */
static sidik_h2_conn *raw_open(app *a)
{
    sidik_identity who = {SIDIK_ROLE_OFFICE, "JKT-01"};
    sidik_h2_conn *sv;
    assert_int_equal(sidik_h2_conn_create(NULL, &who, &app_cb, a, &sv), 0);
    uint8_t settings[9];
    raw_frame(settings, 0x4, 0, 0, NULL, 0);
    assert_int_equal(sidik_h2_conn_recv(sv, client_preface, sizeof client_preface - 1), 0);
    assert_int_equal(sidik_h2_conn_recv(sv, settings, sizeof settings), 0);
    return sv;
}

/* Feeds the preface and an empty SETTINGS, then `count` copies of frame f
 * without ever taking the server's output. Returns how many copies were
 * fed before the connection was refused (count when never), and requires
 * the reason it was cut to be `why`. */
static int flood(const uint8_t *f, size_t n, int count, const char *why)
{
    app a = {0};
    sidik_h2_conn *sv = raw_open(&a);
    assert_null(sidik_h2_conn_why(sv));
    int i = 0;
    for (; i < count; i++)
        if (sidik_h2_conn_recv(sv, f, n) != 0)
            break;
    if (i < count)
        assert_string_equal(sidik_h2_conn_why(sv), why);
    sidik_h2_conn_destroy(sv);
    return i;
}

static void test_server_h2_floods(void **state)
{
    (void)state;
    uint8_t f[64];
    /* PING after PING: each owes an ACK the client never reads. */
    size_t n = raw_frame(f, 0x6, 0, 0, (const uint8_t *)"12345678", 8);
    int fed = flood(f, n, 100000, "ping or settings flood (acknowledgements not read)");
    print_message("ping flood cut after %d frames\n", fed);
    assert_true(fed < 100000);
    /* SETTINGS after SETTINGS: each owes an ACK too. */
    n = raw_frame(f, 0x4, 0, 0, NULL, 0);
    fed = flood(f, n, 100000, "ping or settings flood (acknowledgements not read)");
    print_message("settings flood cut after %d frames\n", fed);
    assert_true(fed < 100000);
}

/* Rapid reset (CVE-2023-44487): open a stream and cancel it, over and over.
 * Each opening makes the server start work; the connection must be cut
 * long before a hundred thousand of them. */
static void test_server_h2_rapid_reset(void **state)
{
    (void)state;
    app a = {0};
    sidik_h2_conn *sv = raw_open(&a);
    /* HPACK, static table only: :method POST, :scheme https, :path / */
    const uint8_t hdrs[] = {0x83, 0x87, 0x84};
    const uint8_t cancel[] = {0, 0, 0, 8};
    int i = 0;
    for (; i < 100000; i++) {
        uint8_t buf[64];
        uint32_t id = 1 + 2 * (uint32_t)i;
        size_t n = raw_frame(buf, 0x1, 0x4, id, hdrs, sizeof hdrs);
        n += raw_frame(buf + n, 0x3, 0, id, cancel, sizeof cancel);
        if (sidik_h2_conn_recv(sv, buf, n) != 0)
            break;
        /* The server's answers are taken, as a real attacker's TCP stack
         * would: the limit must not depend on the client being slow. */
        const uint8_t *p;
        size_t m;
        while (sidik_h2_conn_pending(sv, &p, &m) == 0 && m > 0)
            ;
    }
    print_message("rapid reset cut after %d streams\n", i);
    assert_string_equal(sidik_h2_conn_why(sv), "stream reset flood");
    sidik_h2_conn_destroy(sv);
    assert_true(i < 100000);
}

/* More streams than the acknowledged SETTINGS allow: nghttp2 treats the
 * excess stream as a connection error, so the client is cut with GOAWAY
 * (PROTOCOL_ERROR) after the streams it was allowed; those two reach the
 * application and are closed with the connection. */
static void test_server_h2_too_many_streams(void **state)
{
    (void)state;
    app a = {0};
    sidik_identity who = {SIDIK_ROLE_OFFICE, "JKT-01"};
    sidik_h2_options o = {.max_streams = 2};
    sidik_h2_conn *sv;
    assert_int_equal(sidik_h2_conn_create(&o, &who, &app_cb, &a, &sv), 0);
    uint8_t buf[512];
    size_t n = 0;
    memcpy(buf, client_preface, sizeof client_preface - 1);
    n += sizeof client_preface - 1;
    n += raw_frame(buf + n, 0x4, 0, 0, NULL, 0); /* our SETTINGS */
    assert_int_equal(sidik_h2_conn_recv(sv, buf, n), 0);
    const uint8_t *p;
    size_t m;
    while (sidik_h2_conn_pending(sv, &p, &m) == 0 && m > 0) /* the server's SETTINGS go out */
        ;
    n = raw_frame(buf, 0x4, 0x1, 0, NULL, 0); /* and are acknowledged: the limit applies */
    /* :method POST, :scheme https (static table), then :authority, :path and
     * content-type as literals without indexing (HPACK section 6.2.2);
     * nghttp2 resets a request without :authority. */
    uint8_t hb[96];
    size_t h = 0;
    hb[h++] = 0x83;
    hb[h++] = 0x87;
    hb[h++] = 0x01; /* name: static index 1, :authority */
    hb[h++] = 9;
    memcpy(hb + h, "localhost", 9);
    h += 9;
    hb[h++] = 0x04; /* name: static index 4, :path */
    hb[h++] = 20;
    memcpy(hb + h, "/sidik.v1.Status/Get", 20);
    h += 20;
    hb[h++] = 0x0f; /* name: static index 31, content-type (15 + 16) */
    hb[h++] = 16;
    hb[h++] = 16;
    memcpy(hb + h, "application/grpc", 16);
    h += 16;
    for (uint32_t id = 1; id <= 9; id += 2)
        n += raw_frame(buf + n, 0x1, 0x4, id, hb, (uint32_t)h); /* HEADERS, END_HEADERS */
    sidik_h2_conn_recv(sv, buf, n); /* cut: 0 or SIDIK_EFORMAT, either way no more reading */
    int goaway = 0;
    while (sidik_h2_conn_pending(sv, &p, &m) == 0 && m > 0)
        for (size_t off = 0; off + 9 <= m;) {
            uint32_t len = (uint32_t)p[off] << 16 | (uint32_t)p[off + 1] << 8 | p[off + 2];
            if (p[off + 3] == 0x7 && len >= 8 && p[off + 16] == 1) /* GOAWAY PROTOCOL_ERROR */
                goaway++;
            off += 9 + len;
        }
    assert_int_equal(goaway, 1);
    assert_true(sidik_h2_conn_done(sv));
    assert_int_equal(a.calls, 2);
    sidik_h2_conn_destroy(sv);
    assert_int_equal(a.closes, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_h2_unary),
        SIDIK_TEST(test_server_h2_bidi_large_messages),
        SIDIK_TEST(test_server_h2_client_streaming),
        SIDIK_TEST(test_server_h2_server_streaming),
        SIDIK_TEST(test_server_h2_deadline_expires),
        SIDIK_TEST(test_server_h2_shutdown),
        SIDIK_TEST(test_server_h2_refusals),
        SIDIK_TEST(test_server_h2_garbage),
        SIDIK_TEST(test_server_h2_floods),
        SIDIK_TEST(test_server_h2_rapid_reset),
        SIDIK_TEST(test_server_h2_too_many_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

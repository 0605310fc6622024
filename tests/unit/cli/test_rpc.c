/*
 * The CLI's gRPC client (cli/rpc.h) against a scripted server: a thread
 * serving TLS 1.3 and HTTP/2 with stock OpenSSL and nghttp2 on a loopback
 * socket, answering each method path with one behaviour, good or bad, that
 * sidikd itself would never show: trailers-only answers, a compressed or
 * oversized message, a reset, GOAWAY, a dropped connection, silence, a
 * 3 MiB answer that needs window updates. Each must end in the documented
 * return code, gRPC status and message, and the connection must stay
 * usable wherever only the call failed. Bidirectional calls (/t/Bidi*):
 * answers arrive while the client is still sending, 4 MB go through a
 * 64 KiB window, and an UNIMPLEMENTED answer, a deadline, a cancel and a
 * dropped connection end them as documented. Connecting is checked against a
 * refused port, a foreign CA, a certificate for another host, a server
 * without ALPN h2 and one that never handshakes.
 */
#include "test_support.h"

#include "rpc.h"
#include "sidik/common.h"
#include "sidik.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char pki[256];
static int listen_fd = -1, port;
static pthread_t server_thread;
static SSL_CTX *ctx_good, *ctx_other, *ctx_no_alpn;

/* How the server treats the next connection it accepts. */
static atomic_int use_other_cert, no_alpn, stall_handshake, stop;
/* What it saw: the last stream's close code, and its request's headers. */
static atomic_uint last_close_code;
static atomic_int closes_seen;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* ---- the scripted server ------------------------------------------------------ */

typedef struct srv_conn {
    nghttp2_session *s;
    SSL *ssl;
    int fd;
    bool drop; /* close the socket with a reset now */
    char path[64], timeout[32], authority[64];
    uint8_t body[4096];
    size_t body_len;
    /* The response body being sent, and what ends it. */
    uint8_t *out;
    size_t out_len, out_off;
    bool trailers, hold; /* trailers after the body / stay open after it */
    const char *status, *message;
    /* A bidirectional call (/t/Bidi*): request messages reassembled as
     * they come, each answered at once. */
    bool bidi;
    int32_t bidi_id;
    uint8_t prefix[5];
    size_t prefix_have;
    uint8_t *msg;
    size_t msg_len, msg_have;
    bool in_msg;
    unsigned bidi_msgs;
    char bidi_message[32];
} srv_conn;

#define NV(n, v)                                                                       \
    {                                                                                  \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE \
    }

static ssize_t srv_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                        uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)src;
    srv_conn *c = ud;
    size_t n = c->out_len - c->out_off;
    n = n < length ? n : length;
    if (n > 0) /* a bidirectional answer starts before it has a message */
        memcpy(buf, c->out + c->out_off, n);
    c->out_off += n;
    if (c->out_off == c->out_len) {
        if (c->hold)
            return n > 0 ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (c->trailers) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            nghttp2_nv tr[] = {NV("grpc-status", c->status), NV("grpc-message", c->message)};
            nghttp2_submit_trailer(s, id, tr, c->message[0] ? 2 : 1);
        }
    }
    return (ssize_t)n;
}

/* Appends one gRPC message (flag byte, length, bytes) to the response. */
static void add_message(srv_conn *c, uint8_t flag, uint32_t len, const uint8_t *p, size_t have)
{
    c->out = realloc(c->out, c->out_len + 5 + have);
    uint8_t *o = c->out + c->out_len;
    o[0] = flag;
    o[1] = (uint8_t)(len >> 24), o[2] = (uint8_t)(len >> 16), o[3] = (uint8_t)(len >> 8),
    o[4] = (uint8_t)len;
    if (have > 0)
        memcpy(o + 5, p, have);
    c->out_len += 5 + have;
}

static void add_state(srv_conn *c, const char *id, const char *office)
{
    Sidik__V1__EnrollmentState st = SIDIK__V1__ENROLLMENT_STATE__INIT;
    st.enrollment_id = (char *)id;
    st.office_code = (char *)office;
    st.status = SIDIK__V1__ENROLLMENT_STATUS__RECEIVED;
    size_t n = sidik__v1__enrollment_state__get_packed_size(&st);
    uint8_t *p = malloc(n);
    sidik__v1__enrollment_state__pack(&st, p);
    add_message(c, 0, (uint32_t)n, p, n);
    free(p);
}

static void respond(srv_conn *c, int32_t id, int http)
{
    char status[8];
    snprintf(status, sizeof status, "%d", http);
    nghttp2_nv nva[] = {NV(":status", status), NV("content-type", "application/grpc")};
    nghttp2_data_provider dp = {.read_callback = srv_read};
    nghttp2_submit_response(c->s, id, nva, 2, &dp);
}

/* The request is complete: answer as its path says. */
static void dispatch(srv_conn *c, int32_t id)
{
    const char *p = c->path;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->trailers = true;
    c->hold = false;
    c->status = "0";
    c->message = "";
    /* The request: GetStatusRequest. */
    Sidik__V1__GetStatusRequest *req =
        c->body_len >= 5 ? sidik__v1__get_status_request__unpack(NULL, c->body_len - 5, c->body + 5)
                         : NULL;
    char got[128];
    snprintf(got, sizeof got, "%s", req != NULL ? req->enrollment_id : "?");
    if (req != NULL)
        sidik__v1__get_status_request__free_unpacked(req, NULL);
    if (strcmp(p, "/t/Echo") == 0) {
        char office[128];
        snprintf(office, sizeof office, "%s %s", c->timeout, c->authority);
        add_state(c, got, office);
        respond(c, id, 200);
    } else if (strcmp(p, "/t/Big") == 0) {
        char *big = malloc(3u << 20);
        memset(big, 'x', (3u << 20) - 1);
        big[(3u << 20) - 1] = 0;
        add_state(c, got, big);
        free(big);
        respond(c, id, 200);
    } else if (strcmp(p, "/t/TooBig") == 0) {
        add_message(c, 0, SIDIK_RPC_MAX_MESSAGE + 1, NULL, 0);
        c->hold = true;
        respond(c, id, 200);
    } else if (strcmp(p, "/t/Compressed") == 0) {
        add_message(c, 1, 3, (const uint8_t *)"abc", 3);
        respond(c, id, 200);
    } else if (strcmp(p, "/t/Garbage") == 0) {
        add_message(c, 0, 2, (const uint8_t *)"\xff\xff", 2);
        respond(c, id, 200);
    } else if (strcmp(p, "/t/Two") == 0) {
        add_state(c, "a", "x");
        add_state(c, "b", "x");
        respond(c, id, 200);
    } else if (strcmp(p, "/t/Stream") == 0) {
        for (char i = '0'; i < '5'; i++)
            add_state(c, (char[]){i, 0}, "x");
        respond(c, id, 200);
    } else if (strcmp(p, "/t/NoStatus") == 0) {
        add_state(c, "a", "x");
        c->trailers = false;
        respond(c, id, 200);
    } else if (strcmp(p, "/t/TrailersOnly") == 0) {
        nghttp2_nv nva[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                            NV("grpc-status", "5"),
                            NV("grpc-message", "no%20such%0Aenrollment%zz%4")};
        nghttp2_submit_response(c->s, id, nva, 4, NULL);
    } else if (strcmp(p, "/t/Http503") == 0) {
        nghttp2_nv nva[] = {NV(":status", "503")};
        nghttp2_submit_response(c->s, id, nva, 1, NULL);
    } else if (strcmp(p, "/t/Reset") == 0) {
        nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    } else if (strcmp(p, "/t/GoAway") == 0) {
        nghttp2_submit_goaway(c->s, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
    } else if (strcmp(p, "/t/Drop") == 0) {
        c->drop = true;
    } else { /* "/t/Silent" and anything else: no answer at all */
    }
}

/* ---- the bidirectional paths ---- */

static void bidi_start(srv_conn *c, int32_t id)
{
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->bidi = true;
    c->bidi_id = id;
    c->prefix_have = c->msg_have = 0;
    c->in_msg = false;
    c->bidi_msgs = 0;
    c->trailers = true;
    c->status = "0";
    c->message = "";
    if (strcmp(c->path, "/t/BidiUnimpl") == 0) {
        /* What sidikd answers for a method it does not serve: trailers
         * only, before the client is done sending. */
        nghttp2_nv nva[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                            NV("grpc-status", "12"), NV("grpc-message", "unknown method")};
        nghttp2_submit_response(c->s, id, nva, 4, NULL);
        c->bidi = false;
    } else if (strcmp(c->path, "/t/BidiEcho") == 0 || strcmp(c->path, "/t/BidiDrop") == 0) {
        c->hold = true;
        respond(c, id, 200);
    } /* "/t/BidiSilent": nothing */
}

/* One whole request message: answered at once (BidiEcho), or the
 * connection dropped (BidiDrop). */
static void bidi_message(srv_conn *c, const uint8_t *p, size_t n)
{
    c->bidi_msgs++;
    if (strcmp(c->path, "/t/BidiDrop") == 0) {
        c->drop = true;
        return;
    }
    if (strcmp(c->path, "/t/BidiEcho") != 0)
        return;
    Sidik__V1__GetStatusRequest *req = sidik__v1__get_status_request__unpack(NULL, n, p);
    char id[17], len[24];
    snprintf(id, sizeof id, "%s", req != NULL ? req->enrollment_id : "?");
    snprintf(len, sizeof len, "%zu", n);
    if (req != NULL)
        sidik__v1__get_status_request__free_unpacked(req, NULL);
    add_state(c, id, len);
    nghttp2_session_resume_data(c->s, c->bidi_id);
}

static void bidi_data(srv_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (!c->in_msg) {
            size_t k = 5 - c->prefix_have < n ? 5 - c->prefix_have : n;
            memcpy(c->prefix + c->prefix_have, p, k);
            c->prefix_have += k, p += k, n -= k;
            if (c->prefix_have < 5)
                return;
            c->prefix_have = 0;
            c->msg_len = (size_t)c->prefix[1] << 24 | (size_t)c->prefix[2] << 16 |
                         (size_t)c->prefix[3] << 8 | c->prefix[4];
            c->msg = realloc(c->msg, c->msg_len + 1);
            c->msg_have = 0;
            c->in_msg = true;
        }
        size_t k = c->msg_len - c->msg_have < n ? c->msg_len - c->msg_have : n;
        memcpy(c->msg + c->msg_have, p, k);
        c->msg_have += k, p += k, n -= k;
        if (c->msg_have == c->msg_len) {
            c->in_msg = false;
            bidi_message(c, c->msg, c->msg_len);
        }
    }
}

/* The client half-closed: the answers end with OK and how many came. */
static void bidi_end(srv_conn *c)
{
    c->bidi = false;
    if (strcmp(c->path, "/t/BidiEcho") != 0)
        return;
    snprintf(c->bidi_message, sizeof c->bidi_message, "got %u", c->bidi_msgs);
    c->message = c->bidi_message;
    c->hold = false;
    nghttp2_session_resume_data(c->s, c->bidi_id);
}

static int srv_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nn,
                      const uint8_t *value, size_t vn, uint8_t flags, void *ud)
{
    (void)s, (void)f, (void)flags;
    srv_conn *c = ud;
    char *dst = nn == 5 && memcmp(name, ":path", 5) == 0            ? c->path
                : nn == 12 && memcmp(name, "grpc-timeout", 12) == 0 ? c->timeout
                : nn == 10 && memcmp(name, ":authority", 10) == 0   ? c->authority
                                                                    : NULL;
    if (dst != NULL)
        snprintf(dst, 64, "%.*s", (int)vn, value);
    return 0;
}

static int srv_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *p, size_t n,
                    void *ud)
{
    (void)s, (void)flags;
    srv_conn *c = ud;
    if (c->bidi && id == c->bidi_id) {
        bidi_data(c, p, n);
        return 0;
    }
    if (c->body_len + n <= sizeof c->body) {
        memcpy(c->body + c->body_len, p, n);
        c->body_len += n;
    }
    return 0;
}

static int srv_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    (void)s;
    srv_conn *c = ud;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        c->body_len = 0;
        c->bidi = false;
        if (strncmp(c->path, "/t/Bidi", 7) == 0)
            bidi_start(c, f->hd.stream_id);
    }
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        if (strncmp(c->path, "/t/Bidi", 7) == 0)
            bidi_end(c);
        else
            dispatch(c, f->hd.stream_id);
    }
    return 0;
}

static int srv_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s, (void)id, (void)ud;
    atomic_store(&last_close_code, code);
    atomic_fetch_add(&closes_seen, 1);
    return 0;
}

static void serve(int fd)
{
    if (atomic_load(&stall_handshake)) {
        while (!atomic_load(&stop) && atomic_load(&stall_handshake))
            usleep(10000);
        close(fd);
        return;
    }
    SSL *ssl = SSL_new(atomic_load(&use_other_cert) ? ctx_other
                       : atomic_load(&no_alpn)      ? ctx_no_alpn
                                                    : ctx_good);
    SSL_set_fd(ssl, fd);
    srv_conn c = {.ssl = ssl, .fd = fd};
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, srv_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, srv_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, srv_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, srv_close);
    if (SSL_accept(ssl) == 1 && nghttp2_session_server_new(&c.s, cbs, &c) == 0) {
        nghttp2_submit_settings(c.s, NGHTTP2_FLAG_NONE, NULL, 0);
        uint8_t buf[16384];
        while (!atomic_load(&stop)) {
            const uint8_t *out;
            ssize_t n;
            while ((n = nghttp2_session_mem_send(c.s, &out)) > 0)
                if (SSL_write(ssl, out, (int)n) != (int)n)
                    goto done;
            if (c.drop) {
                /* A reset, not a close: SO_LINGER 0. */
                struct linger l = {1, 0};
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
                break;
            }
            if (!nghttp2_session_want_read(c.s) && !nghttp2_session_want_write(c.s))
                break;
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (SSL_pending(ssl) == 0 && poll(&pf, 1, 50) == 0)
                continue;
            int r = SSL_read(ssl, buf, sizeof buf);
            if (r <= 0 || nghttp2_session_mem_recv(c.s, buf, (size_t)r) < 0)
                break;
        }
    }
done:
    nghttp2_session_callbacks_del(cbs);
    nghttp2_session_del(c.s);
    free(c.out);
    free(c.msg);
    SSL_free(ssl);
    ERR_clear_error();
    close(fd);
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        serve(fd);
    }
    return NULL;
}

static int alpn_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    if (inlen >= 3 && memcmp(in, "\x02h2", 3) == 0) {
        *out = in + 1;
        *outlen = 2;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static SSL_CTX *server_ctx(const char *cert, bool alpn)
{
    char path[400], key[400], ca[400];
    snprintf(path, sizeof path, "%s/%s.crt", pki, cert);
    snprintf(key, sizeof key, "%s/%s.key", pki, cert);
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    SSL_CTX *x = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(x, TLS1_3_VERSION);
    if (SSL_CTX_use_certificate_chain_file(x, path) != 1 ||
        SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(x, ca, NULL) != 1) {
        SSL_CTX_free(x);
        return NULL;
    }
    SSL_CTX_set_verify(x, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_num_tickets(x, 0);
    if (alpn)
        SSL_CTX_set_alpn_select_cb(x, alpn_h2, NULL);
    return x;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(pki, sizeof pki, "%s/sidik-rpc-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(pki) == NULL)
        return -1;
    const char *pki_sh = SIDIK_SOURCE_DIR "/deploy/pki.sh";
    if (sh("sh %s %s >/dev/null", pki_sh, pki) != 0 ||
        sh("sh %s %s/foreign ca >/dev/null", pki_sh, pki) != 0)
        return -1;
    /* A server certificate from the right CA for another host only. */
    if (sh("cd %s && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
           "other.key 2>/dev/null && openssl req -new -key other.key -subj '/CN=elsewhere' -out "
           "other.csr && printf 'extendedKeyUsage=serverAuth\\nsubjectAltName=DNS:elsewhere."
           "example\\n' > other.ext && openssl x509 -req -in other.csr -CA ca.crt -CAkey ca.key "
           "-CAcreateserial -days 30 -extfile other.ext -out other.crt 2>/dev/null",
           pki) != 0)
        return -1;
    ctx_good = server_ctx("server", true);
    ctx_other = server_ctx("other", true);
    ctx_no_alpn = server_ctx("server", false);
    if (ctx_good == NULL || ctx_other == NULL || ctx_no_alpn == NULL)
        return -1;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(listen_fd, 16) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    port = ntohs(a.sin_port);
    return pthread_create(&server_thread, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    atomic_store(&stop, 1);
    shutdown(listen_fd, SHUT_RDWR); /* accept() returns */
    pthread_join(server_thread, NULL);
    close(listen_fd);
    SSL_CTX_free(ctx_good);
    SSL_CTX_free(ctx_other);
    SSL_CTX_free(ctx_no_alpn);
    sh("rm -rf %s", pki);
    return 0;
}

/* ---- the client ------------------------------------------------------------------- */

static void settings(sidik_client_settings *s, const char *host, const char *ca_dir)
{
    sidik_client_settings_defaults(s);
    snprintf(s->server, sizeof s->server, "%s:%d", host, port);
    snprintf(s->ca, sizeof s->ca, "%s/%s/ca.crt", pki, ca_dir);
    snprintf(s->cert, sizeof s->cert, "%s/office-JKT-01.crt", pki);
    snprintf(s->key, sizeof s->key, "%s/office-JKT-01.key", pki);
    s->timeout_ms = 5000;
}

static sidik_rpc *connect_ok(uint32_t timeout_ms)
{
    sidik_client_settings s;
    settings(&s, "127.0.0.1", ".");
    s.timeout_ms = timeout_ms;
    sidik_rpc *c = NULL;
    char why[512] = "";
    int rc = sidik_rpc_connect(&s, &c, why, sizeof why);
    if (rc != 0)
        fail_msg("connect: %s (%s)", why, sidik_strerror(rc));
    assert_string_equal(sidik_rpc_role(c), "office");
    assert_string_equal(sidik_rpc_name(c), "JKT-01");
    return c;
}

/* A unary call of path with enrollment_id id; *m the answer. */
static int call(sidik_rpc *c, const char *path, const char *id, sidik_rpc_status *st,
                Sidik__V1__EnrollmentState **m)
{
    Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    req.enrollment_id = (char *)id;
    ProtobufCMessage *resp = (ProtobufCMessage *)0x1; /* must be reset */
    memset(st, 0x55, sizeof *st);
    int rc =
        sidik_rpc_unary(c, path, &req.base, &sidik__v1__enrollment_state__descriptor, &resp, st);
    *m = (Sidik__V1__EnrollmentState *)resp;
    return rc;
}

/* The connection still works: an Echo goes through. */
static void still_usable(sidik_rpc *c)
{
    sidik_rpc_status st;
    Sidik__V1__EnrollmentState *m;
    assert_int_equal(call(c, "/t/Echo", "again", &st, &m), 0);
    assert_int_equal(st.code, 0);
    assert_non_null(m);
    assert_string_equal(m->enrollment_id, "again");
    sidik_rpc_message_free(&m->base);
}

static void expect(sidik_rpc *c, const char *path, int want_rc, int want_code, const char *want)
{
    sidik_rpc_status st;
    Sidik__V1__EnrollmentState *m;
    int rc = call(c, path, "x", &st, &m);
    if (rc != want_rc || st.code != want_code || strcmp(st.message, want) != 0)
        fail_msg("%s: rc %d (%s) code %d '%s'; wanted rc %d code %d '%s'", path, rc,
                 sidik_err_name(rc), st.code, st.message, want_rc, want_code, want);
    assert_null(m);
}

static void test_cli_rpc_unary_ok(void **state)
{
    (void)state;
    sidik_rpc *c = connect_ok(5000);
    sidik_rpc_status st;
    Sidik__V1__EnrollmentState *m;
    assert_int_equal(call(c, "/t/Echo", "6f1c2a4e", &st, &m), 0);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.message, "");
    assert_string_equal(m->enrollment_id, "6f1c2a4e");
    char want[64];
    snprintf(want, sizeof want, "5000m 127.0.0.1:%d", port); /* grpc-timeout, :authority */
    assert_string_equal(m->office_code, want);
    sidik_rpc_message_free(&m->base);
    /* Larger than a stream's window (1 MiB) three times: only window
     * updates as it is read let it through. */
    assert_int_equal(call(c, "/t/Big", "big", &st, &m), 0);
    assert_int_equal(st.code, 0);
    assert_int_equal(strlen(m->office_code), (3u << 20) - 1);
    sidik_rpc_message_free(&m->base);
    still_usable(c);
    sidik_rpc_close(c);
}

static void test_cli_rpc_statuses_and_protocol_errors(void **state)
{
    (void)state;
    sidik_rpc *c = connect_ok(5000);
    char srv[64], want[256];
    snprintf(srv, sizeof srv, "127.0.0.1:%d", port);
    /* Trailers-only: decoded, a control character made '?', a bad escape kept. */
    expect(c, "/t/TrailersOnly", 0, SIDIK_GRPC_NOT_FOUND, "no such?enrollment%zz%4");
    expect(c, "/t/Compressed", SIDIK_EUNSUPPORTED, SIDIK_GRPC_INTERNAL,
           "the server sent a compressed message, though this client offered no compression");
    still_usable(c);
    snprintf(want, sizeof want,
             "the server's answer of %u bytes is over this client's limit of 16 MiB",
             SIDIK_RPC_MAX_MESSAGE + 1);
    expect(c, "/t/TooBig", SIDIK_ETOOBIG, SIDIK_GRPC_RESOURCE_EXHAUSTED, want);
    still_usable(c);
    expect(c, "/t/Garbage", SIDIK_EFORMAT, SIDIK_GRPC_INTERNAL,
           "the server's answer (2 bytes) does not parse as sidik.v1.EnrollmentState");
    snprintf(want, sizeof want, "%s answered a unary call with 2 messages", srv);
    expect(c, "/t/Two", SIDIK_EFORMAT, SIDIK_GRPC_INTERNAL, want);
    snprintf(want, sizeof want, "%s ended the call without a grpc-status", srv);
    expect(c, "/t/NoStatus", SIDIK_EFORMAT, SIDIK_GRPC_INTERNAL, want);
    snprintf(want, sizeof want, "%s answered HTTP status 503, not a gRPC response", srv);
    expect(c, "/t/Http503", SIDIK_EFORMAT, SIDIK_GRPC_UNAVAILABLE, want);
    snprintf(want, sizeof want, "%s did not take the call (stream refused); retry", srv);
    expect(c, "/t/Reset", SIDIK_EBUSY, SIDIK_GRPC_UNAVAILABLE, want);
    still_usable(c);
    /* GOAWAY that leaves our stream out: refused; then no more calls. */
    snprintf(want, sizeof want,
             "%s did not take the call (stream refused, the server is going away); retry", srv);
    expect(c, "/t/GoAway", SIDIK_EBUSY, SIDIK_GRPC_UNAVAILABLE, want);
    snprintf(want, sizeof want, "%s is closing this connection (GOAWAY); connect again", srv);
    expect(c, "/t/Echo", SIDIK_ESHUTDOWN, SIDIK_GRPC_UNAVAILABLE, want);
    sidik_rpc_close(c);
}

static void test_cli_rpc_deadline_and_lost_connection(void **state)
{
    (void)state;
    sidik_rpc *c = connect_ok(300);
    char want[256];
    snprintf(want, sizeof want,
             "no answer from 127.0.0.1:%d within 0.3 s; a longer --timeout, "
             "or check the server's load",
             port);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int before = atomic_load(&closes_seen);
    expect(c, "/t/Silent", SIDIK_ETIMEOUT, SIDIK_GRPC_DEADLINE_EXCEEDED, want);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (took < 0.29 || took > 1.5)
        fail_msg("the deadline of 0.3 s took %.3f s", took);
    /* The server is told: RST_STREAM CANCEL. */
    for (int i = 0; i < 200 && atomic_load(&closes_seen) == before; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&last_close_code), NGHTTP2_CANCEL);
    still_usable(c);
    snprintf(want, sizeof want, "the connection to 127.0.0.1:%d was lost: connection reset by peer",
             port);
    expect(c, "/t/Drop", -ECONNRESET, SIDIK_GRPC_UNAVAILABLE, want);
    expect(c, "/t/Echo", -ECONNRESET, SIDIK_GRPC_UNAVAILABLE, want); /* it stays lost */
    sidik_rpc_close(c);
}

typedef struct seen {
    char ids[8];
    int n, cancel_at;
} seen;

static int on_state(void *ctx, ProtobufCMessage *m)
{
    seen *s = ctx;
    s->ids[s->n++] = ((Sidik__V1__EnrollmentState *)m)->enrollment_id[0];
    sidik_rpc_message_free(m);
    return s->n == s->cancel_at ? 42 : 0;
}

static void test_cli_rpc_server_stream(void **state)
{
    (void)state;
    sidik_rpc *c = connect_ok(5000);
    Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    req.enrollment_id = "s";
    sidik_rpc_status st;
    seen s = {.cancel_at = -1};
    assert_int_equal(sidik_rpc_stream(c, "/t/Stream", &req.base,
                                      &sidik__v1__enrollment_state__descriptor, on_state, &s, &st),
                     0);
    assert_int_equal(st.code, 0);
    assert_int_equal(s.n, 5);
    assert_memory_equal(s.ids, "01234", 5);
    /* on_message's non-zero return cancels the call and is returned. */
    s = (seen){.cancel_at = 2};
    int before = atomic_load(&closes_seen);
    assert_int_equal(sidik_rpc_stream(c, "/t/Stream", &req.base,
                                      &sidik__v1__enrollment_state__descriptor, on_state, &s, &st),
                     42);
    assert_int_equal(st.code, SIDIK_GRPC_CANCELLED);
    assert_string_equal(st.message, "cancelled by the client");
    assert_int_equal(s.n, 2);
    for (int i = 0; i < 200 && atomic_load(&closes_seen) == before; i++)
        usleep(10000);
    /* The whole answer may have arrived before our reset: either way the
     * stream is closed on the server. */
    assert_true(atomic_load(&closes_seen) > before);
    still_usable(c);
    /* NULL arguments are refused, with a status. */
    assert_int_equal(sidik_rpc_stream(c, "/t/Stream", &req.base,
                                      &sidik__v1__enrollment_state__descriptor, NULL, &s, &st),
                     SIDIK_EINVAL);
    assert_int_equal(st.code, SIDIK_GRPC_INTERNAL);
    sidik_rpc_close(c);
}

/* ---- bidirectional ---- */

typedef struct answers {
    char ids[64][17];
    size_t lens[64];
    int n, cancel_at;
} answers;

static int on_answer(void *ctx, ProtobufCMessage *m)
{
    answers *a = ctx;
    const Sidik__V1__EnrollmentState *e = (const Sidik__V1__EnrollmentState *)m;
    if (a->n < 64) {
        snprintf(a->ids[a->n], sizeof a->ids[0], "%s", e->enrollment_id);
        a->lens[a->n] = strtoul(e->office_code, NULL, 10);
    }
    a->n++;
    sidik_rpc_message_free(m);
    return a->n == a->cancel_at ? 42 : 0;
}

static void bidi_send_id(sidik_rpc_bidi *b, const char *id)
{
    Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    req.enrollment_id = (char *)id;
    assert_int_equal(sidik_rpc_bidi_send(b, &req.base), 0);
}

/* Pumps until want answers came (or 5 s). */
static void pump_until(sidik_rpc_bidi *b, const answers *a, int want)
{
    for (int i = 0; i < 500 && a->n < want; i++)
        if (sidik_rpc_bidi_pump(b, 10) != 0)
            break;
    assert_int_equal(a->n, want);
}

static void test_cli_rpc_bidi_interleaved(void **state)
{
    (void)state;
    sidik_rpc *c = connect_ok(5000);
    sidik_rpc_bidi *b = NULL;
    sidik_rpc_status st;
    answers a = {.cancel_at = -1};
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiEcho", &sidik__v1__enrollment_state__descriptor,
                                         on_answer, &a, 0, &b, &st),
                     0);
    /* The first answer arrives while the call is still open for sending:
     * a real bidirectional call, not a client stream read at the end. */
    bidi_send_id(b, "a");
    pump_until(b, &a, 1);
    assert_false(sidik_rpc_bidi_over(b));
    assert_string_equal(a.ids[0], "a");
    bidi_send_id(b, "b");
    Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    req.enrollment_id = "c";
    uint8_t packed[16];
    size_t n = sidik__v1__get_status_request__pack(&req, packed);
    assert_int_equal(sidik_rpc_bidi_send_packed(b, packed, n), 0);
    assert_int_equal(sidik_rpc_bidi_close_send(b), 0);
    assert_int_equal(sidik_rpc_bidi_close_send(b), 0); /* again: a no-op */
    assert_int_equal(sidik_rpc_bidi_send_packed(b, packed, n), SIDIK_ESTATE);
    assert_int_equal(sidik_rpc_bidi_finish(b, &st), 0);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.message, "got 3");
    assert_int_equal(a.n, 3);
    assert_string_equal(a.ids[1], "b");
    assert_string_equal(a.ids[2], "c");
    assert_int_equal(sidik_rpc_bidi_pump(b, 0), 1);
    assert_int_equal(sidik_rpc_bidi_finish(b, &st), 0); /* the same answer again */
    assert_string_equal(st.message, "got 3");
    sidik_rpc_bidi_free(b);
    still_usable(c);
    sidik_rpc_close(c);
}

static void test_cli_rpc_bidi_window(void **state)
{
    (void)state;
    sidik_rpc *c = connect_ok(10000);
    sidik_rpc_bidi *b = NULL;
    sidik_rpc_status st;
    answers a = {.cancel_at = -1};
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiEcho", &sidik__v1__enrollment_state__descriptor,
                                         on_answer, &a, 0, &b, &st),
                     0);
    /* 40 messages of 100 KB: 60 times the server's 64 KiB stream window,
     * so they go through only as its WINDOW_UPDATEs open it again. */
    char *big = malloc(100001);
    memset(big, 'w', 100000);
    big[100000] = 0;
    for (int i = 0; i < 40; i++) {
        big[0] = (char)('A' + i);
        bidi_send_id(b, big);
    }
    size_t queued = sidik_rpc_bidi_unsent(b);
    assert_true(queued > 40u * 100000);
    pump_until(b, &a, 40);
    assert_int_equal(sidik_rpc_bidi_unsent(b), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(a.ids[i][0], 'A' + i); /* in order */
        assert_true(a.lens[i] > 100000);        /* and whole */
    }
    assert_int_equal(sidik_rpc_bidi_close_send(b), 0);
    assert_int_equal(sidik_rpc_bidi_finish(b, &st), 0);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.message, "got 40");
    free(big);
    sidik_rpc_bidi_free(b);
    still_usable(c);
    sidik_rpc_close(c);
}

static void test_cli_rpc_bidi_errors(void **state)
{
    (void)state;
    sidik_rpc *c = connect_ok(5000);
    sidik_rpc_bidi *b = NULL;
    sidik_rpc_status st;
    char want[256];
    answers a = {.cancel_at = -1};
    const ProtobufCMessageDescriptor *d = &sidik__v1__enrollment_state__descriptor;

    /* A method the server does not serve: over before the client is done. */
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiUnimpl", d, on_answer, &a, 0, &b, &st), 0);
    bidi_send_id(b, "x");
    for (int i = 0; i < 500 && sidik_rpc_bidi_pump(b, 10) == 0; i++) {
    }
    assert_true(sidik_rpc_bidi_over(b));
    assert_int_equal(sidik_rpc_bidi_finish(b, &st), 0);
    assert_int_equal(st.code, SIDIK_GRPC_UNIMPLEMENTED);
    assert_string_equal(st.message, "unknown method");
    Sidik__V1__GetStatusRequest req = SIDIK__V1__GET_STATUS_REQUEST__INIT;
    assert_int_equal(sidik_rpc_bidi_send(b, &req.base), SIDIK_ESTATE);
    sidik_rpc_bidi_free(b);
    still_usable(c);

    /* The call's own deadline, shorter than the connection's. */
    int before = atomic_load(&closes_seen);
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiSilent", d, on_answer, &a, 300, &b, &st), 0);
    bidi_send_id(b, "x");
    snprintf(want, sizeof want, "the call to 127.0.0.1:%d ran past its deadline", port);
    assert_int_equal(sidik_rpc_bidi_finish(b, &st), SIDIK_ETIMEOUT);
    assert_int_equal(st.code, SIDIK_GRPC_DEADLINE_EXCEEDED);
    assert_string_equal(st.message, want);
    sidik_rpc_bidi_free(b);
    for (int i = 0; i < 200 && atomic_load(&closes_seen) == before; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&last_close_code), NGHTTP2_CANCEL);
    still_usable(c);

    /* on_message cancels. */
    a = (answers){.cancel_at = 1};
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiEcho", d, on_answer, &a, 0, &b, &st), 0);
    bidi_send_id(b, "x");
    bidi_send_id(b, "y");
    assert_int_equal(sidik_rpc_bidi_finish(b, &st), 42);
    assert_int_equal(st.code, SIDIK_GRPC_CANCELLED);
    assert_int_equal(a.n, 1);
    sidik_rpc_bidi_free(b);
    still_usable(c);

    /* Freed while open: the stream is reset, the connection goes on. */
    a = (answers){.cancel_at = -1};
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiEcho", d, on_answer, &a, 0, &b, &st), 0);
    bidi_send_id(b, "x");
    pump_until(b, &a, 1);
    sidik_rpc_bidi_free(b);
    still_usable(c);

    /* The connection is lost mid-call: over, and it stays lost. */
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiDrop", d, on_answer, &a, 0, &b, &st), 0);
    bidi_send_id(b, "x");
    snprintf(want, sizeof want, "the connection to 127.0.0.1:%d was lost: connection reset by peer",
             port);
    assert_int_equal(sidik_rpc_bidi_finish(b, &st), -ECONNRESET);
    assert_int_equal(st.code, SIDIK_GRPC_UNAVAILABLE);
    assert_string_equal(st.message, want);
    sidik_rpc_bidi_free(b);
    b = (sidik_rpc_bidi *)0x1;
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiEcho", d, on_answer, &a, 0, &b, &st),
                     -ECONNRESET);
    assert_ptr_equal(b, (sidik_rpc_bidi *)0x1);
    assert_string_equal(st.message, want);
    assert_int_equal(sidik_rpc_bidi_open(c, "/t/BidiEcho", d, NULL, &a, 0, &b, &st), SIDIK_EINVAL);
    sidik_rpc_bidi_free(NULL);
    sidik_rpc_close(c);
}

/* Connecting fails with rc and exactly want (formatted with the port). */
static void connect_fails(const sidik_client_settings *s, int want_rc, const char *want)
{
    sidik_rpc *c = (sidik_rpc *)0x1;
    char why[512] = "";
    int rc = sidik_rpc_connect(s, &c, why, sizeof why);
    if (rc != want_rc || strcmp(why, want) != 0)
        fail_msg("connect: rc %d (%s) '%s'; wanted rc %d '%s'", rc, sidik_err_name(rc), why,
                 want_rc, want);
    assert_ptr_equal(c, (sidik_rpc *)0x1); /* untouched */
}

static void test_cli_rpc_connect_errors(void **state)
{
    (void)state;
    sidik_client_settings s;
    char want[3 * PATH_MAX];

    /* Nothing listens: a port from a socket closed just now. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    settings(&s, "127.0.0.1", ".");
    snprintf(s.server, sizeof s.server, "127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(want, sizeof want,
             "cannot reach %s: connection refused; is sidikd running? set "
             "--server or SIDIK_SERVER",
             s.server);
    connect_fails(&s, -ECONNREFUSED, want);

    settings(&s, "127.0.0.1", "foreign");
    snprintf(want, sizeof want,
             "the server's certificate is not signed by CA %s (self-signed "
             "certificate in certificate chain); give the CA that issued sidikd's certificate "
             "with --ca or SIDIK_CA",
             s.ca);
    connect_fails(&s, SIDIK_EUNAUTH, want);

    atomic_store(&use_other_cert, 1);
    settings(&s, "localhost", ".");
    connect_fails(&s, SIDIK_EUNAUTH,
                  "the server's certificate is not issued for localhost "
                  "(hostname mismatch); use a name or address it lists in "
                  "--server");
    settings(&s, "127.0.0.1", ".");
    connect_fails(&s, SIDIK_EUNAUTH,
                  "the server's certificate is not issued for 127.0.0.1 (IP "
                  "address mismatch); use a name or address it lists in "
                  "--server");
    atomic_store(&use_other_cert, 0);

    atomic_store(&no_alpn, 1);
    settings(&s, "127.0.0.1", ".");
    snprintf(want, sizeof want, "%s did not agree to HTTP/2 (ALPN h2); it is not a gRPC server",
             s.server);
    connect_fails(&s, SIDIK_EUNSUPPORTED, want);
    atomic_store(&no_alpn, 0);

    atomic_store(&stall_handshake, 1);
    s.timeout_ms = 200;
    snprintf(want, sizeof want,
             "no TLS handshake with %s within 0.2 s; is it sidikd's gRPC port "
             "(not the metrics port)?",
             s.server);
    connect_fails(&s, SIDIK_ETIMEOUT, want);
    atomic_store(&stall_handshake, 0);

    /* Files: each named, with what is wrong. */
    settings(&s, "127.0.0.1", ".");
    snprintf(s.key, sizeof s.key, "%s/admin.key", pki);
    snprintf(want, sizeof want, "the client key %s does not belong to the certificate %s", s.key,
             s.cert);
    connect_fails(&s, SIDIK_EFORMAT, want);
    snprintf(s.key, sizeof s.key, "%s/ca.crt", pki);
    snprintf(want, sizeof want,
             "cannot read the client key %s: not a PEM private key without "
             "a passphrase",
             s.key);
    connect_fails(&s, SIDIK_EFORMAT, want);
    snprintf(s.cert, sizeof s.cert, "%s/nothing.crt", pki);
    snprintf(want, sizeof want,
             "cannot read the client certificate %s: No such file or "
             "directory",
             s.cert);
    connect_fails(&s, -ENOENT, want);
    snprintf(s.server, sizeof s.server, "nowhere");
    connect_fails(&s, SIDIK_EFORMAT,
                  "server 'nowhere': expected HOST:PORT, such as "
                  "sidik.example.id:7443 or [::1]:7443");
    assert_int_equal(sidik_rpc_connect(NULL, NULL, NULL, 0), SIDIK_EINVAL);
    sidik_rpc_close(NULL);
    sidik_rpc_message_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_cli_rpc_unary_ok),
        SIDIK_TEST(test_cli_rpc_statuses_and_protocol_errors),
        SIDIK_TEST(test_cli_rpc_deadline_and_lost_connection),
        SIDIK_TEST(test_cli_rpc_server_stream),
        SIDIK_TEST(test_cli_rpc_bidi_interleaved),
        SIDIK_TEST(test_cli_rpc_bidi_window),
        SIDIK_TEST(test_cli_rpc_bidi_errors),
        SIDIK_TEST(test_cli_rpc_connect_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

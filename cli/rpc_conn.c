/*
 * The client connection (rpc.h): TCP, TLS 1.3 with mutual certificates,
 * the nghttp2 client session, and the poll() pump every call runs on.
 *
 * TLS sits directly on the non-blocking socket (SSL_set_fd): one
 * connection, one thread, so nothing is gained by memory BIOs, and the
 * socket's own errors (refused, reset) reach us unchanged.
 */
#include "rpc_int.h"
#include "sidik/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A stream's window: a status page arrives in one round trip. The
 * connection's covers a whole largest message. */
#define STREAM_WINDOW (1u << 20)

int64_t sidik__rpc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* OpenSSL's most recent queued reason, then the queue cleared. */
static const char *ssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    snprintf(buf, cap, "%s", r != NULL ? r : "no reason given");
    ERR_clear_error();
    return buf;
}

/* strerror's text with a lower-case first letter, to sit inside a sentence. */
static const char *os_error(int rc, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", sidik_strerror(rc));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && (buf[1] < 'A' || buf[1] > 'Z'))
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* ---- certificates --------------------------------------------------------------------- */

/* A file that cannot be opened says so with its errno; one that opens but
 * is not PEM says that. */
static int readable(const char *path, const char *what, char *why, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int rc = -errno;
        (void)sidik_why(why, cap, 0, "cannot read the %s %s: %s", what, path, sidik_strerror(rc));
        return rc;
    }
    fclose(f);
    return 0;
}

static void subject_field(X509 *x, int nid, char *out, size_t cap)
{
    out[0] = 0;
    X509_NAME *name = x != NULL ? X509_get_subject_name(x) : NULL;
    int at = name != NULL ? X509_NAME_get_index_by_NID(name, nid, -1) : -1;
    if (at < 0)
        return;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
    int n = ASN1_STRING_length(s);
    const unsigned char *p = ASN1_STRING_get0_data(s);
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < cap; i++)
        out[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    out[k] = 0;
}

static int make_ctx(sidik_rpc *c, const sidik_client_settings *s, char *why, size_t cap)
{
    char r[160];
    int rc;
    if ((rc = readable(s->ca, "CA certificate", why, cap)) != 0 ||
        (rc = readable(s->cert, "client certificate", why, cap)) != 0 ||
        (rc = readable(s->key, "client key", why, cap)) != 0)
        return rc;
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        return SIDIK_ENOMEM;
    /* TLS 1.3 only: sidikd accepts nothing older, and failing here says so
     * plainly instead of in a handshake alert. */
    if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(c->ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_alpn_protos(c->ctx, (const uint8_t *)"\x02h2", 3) != 0) {
        (void)sidik_why(why, cap, 0, "OpenSSL refused TLS 1.3 with ALPN h2: %s",
                        ssl_reason(r, sizeof r));
        return SIDIK_EINTERNAL;
    }
    if (SSL_CTX_load_verify_locations(c->ctx, s->ca, NULL) != 1) {
        (void)sidik_why(why, cap, 0, "the CA certificate %s is not a PEM certificate: %s", s->ca,
                        ssl_reason(r, sizeof r));
        return SIDIK_EFORMAT;
    }
    if (SSL_CTX_use_certificate_chain_file(c->ctx, s->cert) != 1) {
        (void)sidik_why(why, cap, 0, "the client certificate %s is not a PEM certificate: %s",
                        s->cert, ssl_reason(r, sizeof r));
        return SIDIK_EFORMAT;
    }
    /* Reading the key apart from installing it tells an unreadable key
     * from one of another certificate. */
    BIO *b = BIO_new_file(s->key, "r");
    EVP_PKEY *key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (key == NULL) {
        /* OpenSSL's reason here ("unsupported") names its decoder, not the
         * file's trouble; a key with a passphrase fails the same way. */
        ERR_clear_error();
        (void)sidik_why(why, cap, 0,
                        "cannot read the client key %s: not a PEM private key without a "
                        "passphrase",
                        s->key);
        return SIDIK_EFORMAT;
    }
    rc = SSL_CTX_use_PrivateKey(c->ctx, key) == 1 && SSL_CTX_check_private_key(c->ctx) == 1;
    EVP_PKEY_free(key);
    if (!rc) {
        ERR_clear_error();
        (void)sidik_why(why, cap, 0, "the client key %s does not belong to the certificate %s",
                        s->key, s->cert);
        return SIDIK_EFORMAT;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    X509 *mine = SSL_CTX_get0_certificate(c->ctx);
    subject_field(mine, NID_organizationalUnitName, c->role, sizeof c->role);
    subject_field(mine, NID_commonName, c->name, sizeof c->name);
    return 0;
}

/* ---- TCP --------------------------------------------------------------------------- */

static int wait_fd(int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        int64_t left = deadline_ns - sidik__rpc_now_ns();
        if (left <= 0)
            return SIDIK_ETIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)((left + 999999) / 1000000));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int connect_one(const struct addrinfo *a, int64_t deadline_ns, int *fd_out)
{
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        rc = errno == EINPROGRESS ? 0 : -errno;
        if (rc == 0)
            rc = wait_fd(fd, POLLOUT, deadline_ns);
        int err = 0;
        socklen_t len = sizeof err;
        if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
            rc = -err;
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small calls, no Nagle wait */
    *fd_out = fd;
    return 0;
}

static int tcp_connect(sidik_rpc *c, const char *host, const char *port, int64_t deadline_ns,
                       char *why, size_t cap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        (void)sidik_why(why, cap, 0,
                        "cannot resolve '%s' of %s: %s; check --server or SIDIK_SERVER", host,
                        c->server, g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        return g == EAI_NONAME || g == EAI_NODATA ? SIDIK_ENOTFOUND : SIDIK_EUNSUPPORTED;
    }
    int rc = -ECONNREFUSED;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next)
        if ((rc = connect_one(a, deadline_ns, &c->fd)) == 0 || rc == SIDIK_ETIMEOUT)
            break;
    freeaddrinfo(res);
    char e[96];
    if (rc == SIDIK_ETIMEOUT)
        (void)sidik_why(why, cap, 0,
                        "cannot reach %s within %.3g s; is sidikd running there, and the network "
                        "up? set --server or SIDIK_SERVER, or a longer --timeout",
                        c->server, c->timeout_ms / 1000.0);
    else if (rc != 0)
        (void)sidik_why(why, cap, 0,
                        "cannot reach %s: %s; is sidikd running? set --server or SIDIK_SERVER",
                        c->server, os_error(rc, e, sizeof e));
    return rc;
}

/* ---- TLS ----------------------------------------------------------------------------- */

static int verify_failed(const sidik_client_settings *s, const char *host, long v, char *why,
                         size_t cap)
{
    const char *what = X509_verify_cert_error_string(v);
    switch (v) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        (void)sidik_why(why, cap, 0,
                        "the server's certificate is not issued for %s (%s); use a name or "
                        "address it lists in --server",
                        host, what);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        (void)sidik_why(why, cap, 0,
                        "the server's certificate is not valid now (%s); check this machine's "
                        "clock, or have the server's certificate renewed",
                        what);
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        (void)sidik_why(why, cap, 0,
                        "the server's certificate is not signed by CA %s (%s); give the CA that "
                        "issued sidikd's certificate with --ca or SIDIK_CA",
                        s->ca, what);
        break;
    default:
        (void)sidik_why(why, cap, 0, "the server's certificate does not verify against CA %s: %s",
                        s->ca, what);
    }
    return SIDIK_EUNAUTH;
}

static int tls_connect(sidik_rpc *c, const sidik_client_settings *s, const char *host,
                       int64_t deadline_ns, char *why, size_t cap)
{
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return SIDIK_ENOMEM;
    /* The server's certificate must name what we connected to: an IP
     * address as an IP SAN, a name as a DNS SAN (and as SNI, which takes
     * names only). */
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    unsigned char ip[16];
    bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if ((literal ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
                 : X509_VERIFY_PARAM_set1_host(vp, host, 0)) != 1 ||
        (!literal && SSL_set_tlsext_host_name(c->ssl, host) != 1)) {
        (void)sidik_why(why, cap, 0, "the host '%s' cannot be checked against a certificate", host);
        return SIDIK_EFORMAT;
    }
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(c->ssl, r);
        int rc = e == SSL_ERROR_WANT_READ    ? wait_fd(c->fd, POLLIN, deadline_ns)
                 : e == SSL_ERROR_WANT_WRITE ? wait_fd(c->fd, POLLOUT, deadline_ns)
                                             : 1;
        if (rc == 0)
            continue;
        char reason[160], oe[96];
        long v = SSL_get_verify_result(c->ssl);
        if (rc == SIDIK_ETIMEOUT)
            (void)sidik_why(why, cap, 0,
                            "no TLS handshake with %s within %.3g s; is it sidikd's gRPC port "
                            "(not the metrics port)?",
                            c->server, c->timeout_ms / 1000.0);
        else if (rc < 0)
            (void)sidik_why(why, cap, 0, "TLS handshake with %s: %s", c->server,
                            os_error(rc, oe, sizeof oe));
        else if (v != X509_V_OK)
            return verify_failed(s, host, v, why, cap);
        else if ((e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0) ||
                 ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
                 ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_WRONG_VERSION_NUMBER) {
            /* Plain HTTP (the metrics port) answers a ClientHello with
             * text or a close: not TLS at all. */
            (void)sidik_why(why, cap, 0,
                            "%s does not speak TLS 1.3 (%s); is it sidikd's gRPC port, not "
                            "the metrics port?",
                            c->server,
                            ERR_peek_last_error() ? ssl_reason(reason, sizeof reason)
                                                  : "it closed the connection");
            rc = SIDIK_EUNSUPPORTED;
        } else
            (void)sidik_why(why, cap, 0, "TLS handshake with %s failed: %s", c->server,
                            ssl_reason(reason, sizeof reason));
        ERR_clear_error();
        return rc == 1 ? SIDIK_EUNAUTH : rc; /* 1: the handshake itself failed */
    }
    const unsigned char *alpn;
    unsigned alen;
    SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
    if (alen != 2 || memcmp(alpn, "h2", 2) != 0) {
        (void)sidik_why(why, cap, 0,
                        "%s did not agree to HTTP/2 (ALPN h2); it is not a gRPC server", c->server);
        return SIDIK_EUNSUPPORTED;
    }
    return 0;
}

/* ---- the pump ------------------------------------------------------------------------ */

static int die(sidik_rpc *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int die(sidik_rpc *c, int rc, const char *fmt, ...)
{
    if (c->dead != 0)
        return c->dead;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->dead_why, sizeof c->dead_why, fmt, ap);
    va_end(ap);
    c->dead = rc;
    return rc;
}

/* A TLS failure on an established connection: an alert from the server
 * (it refused our certificate after the handshake, as TLS 1.3 lets it) or
 * a broken record. */
static int tls_failed(sidik_rpc *c, int e, int r)
{
    char oe[96];
    if (e == SSL_ERROR_ZERO_RETURN)
        return die(c, SIDIK_ESHUTDOWN, "%s closed the connection", c->server);
    /* OpenSSL 3 reports a close without close_notify as an SSL error of
     * its own; it is the same lost connection as a bare EOF. */
    bool eof = e == SSL_ERROR_SSL &&
               ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    if (e == SSL_ERROR_SYSCALL || eof) {
        if (eof)
            r = 0, errno = 0;
        int rc = r == 0 || errno == 0 ? -ECONNRESET : -errno;
        ERR_clear_error();
        return die(c, rc, "the connection to %s was lost: %s", c->server,
                   r == 0 || errno == 0 ? "closed without a TLS close_notify"
                                        : os_error(rc, oe, sizeof oe));
    }
    int lib_reason = ERR_GET_REASON(ERR_peek_last_error());
    bool alert = lib_reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
                 lib_reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
                 lib_reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
                 lib_reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED ||
                 lib_reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
                 lib_reason == SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED ||
                 lib_reason == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE ||
                 lib_reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED ||
                 lib_reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR;
    ssl_reason(c->tls_reason, sizeof c->tls_reason);
    return die(c, alert ? SIDIK_EUNAUTH : SIDIK_EFORMAT, "TLS with %s failed: %s", c->server,
               c->tls_reason);
}

static int read_some(sidik_rpc *c)
{
    c->read_wants_write = false;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_read(c->ssl, c->rbuf, sizeof c->rbuf);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                return 0;
            if (e == SSL_ERROR_WANT_WRITE) {
                c->read_wants_write = true;
                return 0;
            }
            return tls_failed(c, e, r);
        }
        c->rx_bytes += (uint64_t)r;
        ssize_t used = nghttp2_session_mem_recv(c->h2, c->rbuf, (size_t)r);
        if (used < 0)
            return die(c, used == NGHTTP2_ERR_NOMEM ? SIDIK_ENOMEM : SIDIK_EFORMAT,
                       "HTTP/2 from %s: %s", c->server, nghttp2_strerror((int)used));
    }
}

/* Hands nghttp2's output to TLS until either has no more or the socket is
 * full (then want_write: poll for POLLOUT). */
static int flush(sidik_rpc *c)
{
    c->want_write = false;
    for (;;) {
        if (c->pend_len == 0) {
            ssize_t n = nghttp2_session_mem_send(c->h2, &c->pend);
            if (n < 0)
                return die(c, n == NGHTTP2_ERR_NOMEM ? SIDIK_ENOMEM : SIDIK_EINTERNAL,
                           "HTTP/2 to %s: %s", c->server, nghttp2_strerror((int)n));
            if (n == 0)
                return 0;
            c->pend_len = (size_t)n;
        }
        ERR_clear_error();
        errno = 0;
        int len = c->pend_len > INT32_MAX ? INT32_MAX : (int)c->pend_len;
        int w = SSL_write(c->ssl, c->pend, len);
        if (w <= 0) {
            int e = SSL_get_error(c->ssl, w);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                c->want_write = e == SSL_ERROR_WANT_WRITE;
                return 0;
            }
            return tls_failed(c, e, w);
        }
        c->pend += w;
        c->pend_len -= (size_t)w;
        c->tx_bytes += (uint64_t)w;
    }
}

void sidik__rpc_flush_nowait(sidik_rpc *c)
{
    if (c->dead == 0)
        flush(c);
}

int sidik__rpc_pump(sidik_rpc *c, int64_t deadline_ns)
{
    if (c->dead != 0)
        return c->dead;
    int rc = flush(c);
    if (rc != 0)
        return rc;
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2) && c->pend_len == 0)
        return die(c, SIDIK_ESHUTDOWN, "%s ended the HTTP/2 session (GOAWAY)", c->server);
    /* Bytes OpenSSL already decrypted are not on the socket: read them
     * before sleeping. */
    if (SSL_pending(c->ssl) == 0) {
        int64_t left = deadline_ns - sidik__rpc_now_ns();
        if (left <= 0)
            return SIDIK_ETIMEOUT;
        struct pollfd p = {
            .fd = c->fd,
            .events =
                (short)(POLLIN |
                        (c->want_write || c->read_wants_write || c->pend_len > 0 ? POLLOUT : 0))};
        int n = poll(&p, 1, (int)((left + 999999) / 1000000));
        if (n < 0 && errno != EINTR)
            return die(c, -errno, "poll: %s", strerror(errno));
        if (n <= 0)
            return sidik__rpc_now_ns() >= deadline_ns ? SIDIK_ETIMEOUT : 0;
    }
    /* Whatever woke us (input, room to write, an error or hang-up), both
     * directions are tried: each returns at once when it cannot go on, and
     * an error shows itself as a failed read. */
    if ((rc = read_some(c)) != 0)
        return rc;
    return flush(c);
}

/* ---- the connection ---------------------------------------------------------------- */

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    sidik_rpc *c = ud;
    sidik__rpc_call_frame(s, f);
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
        c->got_settings = true;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = true;
        c->goaway_code = f->goaway.error_code;
        c->goaway_last = f->goaway.last_stream_id;
    }
    return 0;
}

static int start_h2(sidik_rpc *c)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return SIDIK_ENOMEM;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cbs);
        return SIDIK_ENOMEM;
    }
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    sidik__rpc_stream_callbacks(cbs);
    /* Window updates follow what the calls were handed (rpc_call.c
     * consumes each chunk once it is in a message buffer or delivered),
     * so a window never opens ahead of the reader. */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    int rv = nghttp2_session_client_new2(&c->h2, cbs, c, opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    if (rv != 0)
        return SIDIK_ENOMEM;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
    };
    /* The preface and SETTINGS go out with the first flush. */
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, SIDIK_ARRAY_SIZE(iv)) != 0 ||
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)SIDIK_RPC_MAX_MESSAGE) != 0)
        return SIDIK_ENOMEM;
    return 0;
}

/* The server admits a client only after checking its certificate, and
 * says so with its SETTINGS: waiting for them turns a refused certificate
 * into a connect error instead of the first call's. */
static int await_settings(sidik_rpc *c, const sidik_client_settings *s, int64_t deadline_ns,
                          char *why, size_t cap)
{
    int rc = 0;
    while (!c->got_settings && rc == 0)
        rc = sidik__rpc_pump(c, deadline_ns);
    if (rc == 0)
        return 0;
    /* Room for a whole path: the message names the file to fix. */
    char who[PATH_MAX + sizeof c->role + sizeof c->name + 64];
    snprintf(who, sizeof who, "the client certificate %s (role '%s', name '%s')", s->cert, c->role,
             c->name);
    if (rc == SIDIK_EFORMAT)
        rc = SIDIK_EUNSUPPORTED; /* EFORMAT is kept for the settings' own files */
    if (rc == SIDIK_ETIMEOUT)
        (void)sidik_why(why, cap, 0,
                        "%s accepted TLS but sent no HTTP/2 SETTINGS within %.3g s; is it sidikd?",
                        c->server, c->timeout_ms / 1000.0);
    else if (rc == SIDIK_EUNAUTH)
        (void)sidik_why(why, cap, 0,
                        "%s refused %s: TLS alert '%s'; is it signed by the CA sidikd trusts, "
                        "and valid now?",
                        c->server, who, c->tls_reason);
    else if (rc == SIDIK_ESHUTDOWN || rc == -ECONNRESET)
        (void)sidik_why(why, cap, 0,
                        "%s closed the connection before accepting %s; its OU must be office, "
                        "auditor, admin or printer, or it holds too many connections (sidikd's "
                        "log says which)",
                        c->server, who);
    else
        (void)sidik_why(why, cap, 0, "%s", c->dead_why);
    return rc;
}

int sidik_rpc_connect(const sidik_client_settings *s, sidik_rpc **out, char *why, size_t cap)
{
    if (s == NULL || out == NULL) {
        (void)sidik_why(why, cap, 0, "no settings");
        return SIDIK_EINVAL;
    }
    char host[256], port[8];
    const char *reason;
    int rc = sidik_client_server_split(s->server, host, sizeof host, port, sizeof port, &reason);
    if (rc != 0) {
        (void)sidik_why(why, cap, 0, "server '%s': %s", s->server, reason);
        return rc;
    }
    /* A write to a socket the server has closed would raise SIGPIPE and
     * end the command silently; as an error it is reported. Only a
     * default disposition is changed: a caller's own handler stays. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    sidik_rpc *c = sidik_trycalloc(1, sizeof *c);
    if (c == NULL)
        return SIDIK_ENOMEM;
    c->fd = -1;
    c->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : SIDIK_CLIENT_DEFAULT_TIMEOUT_MS;
    snprintf(c->server, sizeof c->server, "%s", s->server);
    snprintf(c->authority, sizeof c->authority, "%s", s->server);
    int64_t deadline_ns = sidik__rpc_now_ns() + (int64_t)c->timeout_ms * 1000000;
    if ((rc = make_ctx(c, s, why, cap)) == 0 &&
        (rc = tcp_connect(c, host, port, deadline_ns, why, cap)) == 0 &&
        (rc = tls_connect(c, s, host, deadline_ns, why, cap)) == 0) {
        rc = start_h2(c);
        if (rc == 0)
            rc = await_settings(c, s, deadline_ns, why, cap);
        else
            (void)sidik_why(why, cap, 0, "out of memory starting HTTP/2");
    }
    if (rc != 0) {
        sidik_rpc_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sidik_rpc_io(const sidik_rpc *c, sidik_rpc_io_counts *out)
{
    out->received = c->rx_bytes;
    out->sent = c->tx_bytes;
    /* Not the send queue's length (SIOCOUTQ): a sender that keeps it full
     * holds it steady however fast the link drains it. */
    out->acked = sidik__rpc_tcp_acked(c->fd);
}

void sidik_rpc_ping(sidik_rpc *c)
{
    if (c != NULL && c->dead == 0 && c->h2 != NULL)
        nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL);
}

const char *sidik_rpc_role(const sidik_rpc *c)
{
    return c->role;
}

const char *sidik_rpc_name(const sidik_rpc *c)
{
    return c->name;
}

void sidik_rpc_close(sidik_rpc *c)
{
    if (c == NULL)
        return;
    if (c->h2 != NULL && c->dead == 0 && c->got_settings) {
        /* GOAWAY, then close_notify: the server logs a clean close rather
         * than a reset. Neither waits. */
        nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
        sidik__rpc_flush_nowait(c);
        if (c->pend_len == 0)
            SSL_shutdown(c->ssl);
    }
    ERR_clear_error();
    nghttp2_session_del(c->h2);
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    sidik_free(c);
}

/*
 * TCP + TLS + gRPC connections on a libuv loop (sidik/net.h).
 *
 * TLS runs over memory BIOs: bytes from the socket go into the read BIO,
 * OpenSSL's output is taken from the write BIO and written with uv_write.
 * This keeps every socket operation in libuv and OpenSSL free of I/O.
 */
#include "sidik/common.h"
#include "net_int.h"
#include "sidik/net.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK     (64 * 1024)
#define OUT_HIGH_WATER (4u << 20) /* stop reading a client above this much unsent */
#define OUT_LOW_WATER  (1u << 20) /* and start again below this */
#define CLIENT_BUCKETS 1024
/* After our FIN, what the client still sends is read and dropped for a
 * while: closing with its bytes unread would make the kernel answer with
 * a reset that destroys our GOAWAY before the client reads it. */
#define LINGER_MS    2000
#define LINGER_BYTES (1u << 20)

typedef struct conn conn;

struct sidik_net {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_idle_t flusher; /* runs while connections have output queued from outside a read */
    conn *dirty;       /* those connections */
    sidik_net_options o;
    SSL_CTX *ssl;
    conn *conns;
    uint32_t nconns;
    sidik_net_limits *limits;
    bool own_limits;
    int port;
    bool stopping;
    bool quiescing;       /* no new work: listener closed, nothing read */
    bool listener_closing;
    int closing_handles;
    void (*done)(void *);
    void *done_arg;
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;    /* handshake, then idle timeout */
    uv_timer_t deadline; /* the earliest grpc-timeout of a running call */
    sidik_net *net;
    conn *prev, *next;
    SSL *ssl;
    BIO *rbio, *wbio;
    sidik_h2_conn *h2;
    conn *dirty_prev, *dirty_next; /* in net->dirty when dirty */
    bool dirty;
    sidik_identity who;
    bool counted;  /* in the total */
    bool admitted; /* in its identity's share, once past the handshake */
    size_t unsent;         /* bytes handed to uv_write not yet written */
    size_t lingered;       /* bytes dropped after our FIN */
    bool reading;
    bool closing, shutting;
    uv_shutdown_t shutdown;
    int handles_open; /* tcp and both timers */
};

typedef struct write_req {
    uv_write_t req;
    conn *c;
    size_t len;
    char data[];
} write_req;

static void net_maybe_done(sidik_net *n);
static void net_free(sidik_net *n);
static void conn_service(conn *c, int rc);
static void conn_wake(void *arg);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void metric(sidik_net *n, sidik_metric m, int64_t d)
{
    if (n->o.metrics != NULL)
        sidik_metrics_add(n->o.metrics, m, d);
}

/* ---- closing ------------------------------------------------------------------ */

static void conn_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    sidik_net *n = c->net;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    n->nconns--;
    if (c->admitted)
        sidik__limits_release(n->limits, &c->who);
    if (c->counted)
        sidik__limits_close(n->limits);
    metric(n, SIDIK_M_CONNECTIONS_OPEN, -1);
    sidik_h2_conn_destroy(c->h2);
    SSL_free(c->ssl); /* frees both BIOs */
    sidik_free(c);
    net_maybe_done(n);
}

static void dirty_remove(conn *c)
{
    if (!c->dirty)
        return;
    if (c->dirty_prev != NULL)
        c->dirty_prev->dirty_next = c->dirty_next;
    else
        c->net->dirty = c->dirty_next;
    if (c->dirty_next != NULL)
        c->dirty_next->dirty_prev = c->dirty_prev;
    c->dirty_prev = c->dirty_next = NULL;
    c->dirty = false;
}

static void conn_close(conn *c)
{
    if (c->closing)
        return;
    dirty_remove(c);
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->deadline, conn_handle_closed);
}

static void on_linger_end(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    sidik_free(buf->base);
    if (nread < 0 || (c->lingered += (size_t)nread) > LINGER_BYTES)
        conn_close(c);
}

/* Our side is written and closed: drain the client's side until it
 * closes too, LINGER_BYTES have come, or LINGER_MS have passed. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    conn *c = req->data;
    if (status < 0 || c->closing ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_linger_read) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_linger_end, LINGER_MS, 0);
}

/* Closes once everything queued has been written (the GOAWAY or TLS alert
 * that tells the peer why), or at once when that cannot be arranged. */
static void conn_finish(conn *c)
{
    if (c->closing || c->shutting)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    c->shutting = true;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

/* ---- writing --------------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    write_req *w = SIDIK_CONTAINER_OF(req, write_req, req);
    conn *c = w->c;
    c->unsent -= w->len;
    sidik_free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (!c->reading && !c->closing && !c->shutting && !c->net->quiescing && c->unsent < OUT_LOW_WATER) {
        c->reading = true;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

/* Sends whatever OpenSSL has produced. */
static int drain_tls(conn *c)
{
    size_t n;
    while ((n = (size_t)BIO_ctrl_pending(c->wbio)) > 0) {
        write_req *w = sidik_trymalloc(sizeof *w + n);
        if (w == NULL)
            return SIDIK_ENOMEM;
        int got = BIO_read(c->wbio, w->data, (int)n);
        if (got <= 0) {
            sidik_free(w);
            return SIDIK_EINTERNAL;
        }
        w->c = c;
        w->len = (size_t)got;
        uv_buf_t b = uv_buf_init(w->data, (unsigned)got);
        int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
        if (rc != 0) {
            sidik_free(w);
            return rc;
        }
        c->unsent += w->len;
    }
    return 0;
}

/* Moves HTTP/2 output through TLS to the socket. */
static int flush(conn *c)
{
    if (c->h2 != NULL) {
        const uint8_t *p;
        size_t n;
        int rc;
        while ((rc = sidik_h2_conn_pending(c->h2, &p, &n)) == 0 && n > 0)
            if (SSL_write(c->ssl, p, (int)n) != (int)n)
                return SIDIK_EINTERNAL; /* memory BIO: a short write cannot happen */
        if (rc != 0)
            return rc;
    }
    return drain_tls(c);
}

static void on_deadline(uv_timer_t *t)
{
    conn *c = t->data;
    sidik_h2_conn_expire(c->h2);
    conn_service(c, 0);
}

/* The deadline timer follows the earliest deadline of a running call. */
static void arm_deadline(conn *c)
{
    int64_t ms = c->h2 != NULL ? sidik_h2_conn_next_deadline_ms(c->h2) : -1;
    if (ms < 0)
        uv_timer_stop(&c->deadline);
    else
        uv_timer_start(&c->deadline, on_deadline, (uint64_t)ms, 0);
}

/* After input or a wake: sends what there is (a GOAWAY or a TLS alert
 * included, even when closing: the peer learns why), closes a finished
 * connection, and stops reading from a client that does not take its
 * answers. rc is the input's result. */
static void conn_service(conn *c, int rc)
{
    int frc = flush(c);
    if (rc == SIDIK_EFORMAT && c->h2 != NULL && sidik_h2_conn_why(c->h2) != NULL)
        SIDIK_LOG_INFO("connection cut", "why=\"%s\" role=%s name=%s", sidik_h2_conn_why(c->h2),
                       sidik_role_name(c->who.role), c->who.name);
    if (rc != 0 || frc != 0 || (c->h2 != NULL && sidik_h2_conn_done(c->h2))) {
        conn_finish(c);
        return;
    }
    if (c->reading && c->unsent > OUT_HIGH_WATER) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    arm_deadline(c);
}

/* ---- reading ---------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    char *p = sidik_trymalloc(READ_CHUNK);
    *buf = uv_buf_init(p, p != NULL ? READ_CHUNK : 0);
}

static void on_idle(uv_timer_t *t)
{
    conn *c = t->data;
    SIDIK_LOG_INFO("connection closed", "why=%s name=%s", c->h2 ? "idle" : "handshake timeout",
                   c->who.name[0] ? c->who.name : "-");
    if (c->h2 == NULL)
        metric(c->net, SIDIK_M_HANDSHAKE_FAILURES, 1);
    conn_close(c);
}

static int handshake(conn *c)
{
    int rc = SSL_do_handshake(c->ssl);
    if (rc != 1) {
        int e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        unsigned long err = ERR_get_error();
        char msg[160];
        ERR_error_string_n(err, msg, sizeof msg);
        ERR_clear_error();
        SIDIK_LOG_INFO("tls handshake refused", "reason=\"%s\"", msg);
        metric(c->net, SIDIK_M_HANDSHAKE_FAILURES, 1);
        return SIDIK_EUNAUTH;
    }
    const char *why = NULL;
    if ((rc = sidik_tls_identity(c->ssl, &c->who, &why)) != 0) {
        SIDIK_LOG_INFO("client refused", "reason=\"%s\"", why);
        metric(c->net, SIDIK_M_HANDSHAKE_FAILURES, 1);
        return rc;
    }
    if (!(c->admitted = sidik__limits_admit(c->net->limits, &c->who))) {
        SIDIK_LOG_WARN("client refused: too many connections", "role=%s name=%s limit=%u",
                       sidik_role_name(c->who.role), c->who.name,
                       sidik__limits_per_client(c->net->limits));
        metric(c->net, SIDIK_M_CONNECTIONS_REFUSED, 1);
        return SIDIK_EBUSY;
    }
    if ((rc = sidik_h2_conn_create(&c->net->o.h2, &c->who, c->net->o.cb, c->net->o.ctx, &c->h2)) !=
        0)
        return rc;
    sidik_h2_conn_set_wake(c->h2, conn_wake, c);
    SIDIK_LOG_DEBUG("client connected", "role=%s name=%s", sidik_role_name(c->who.role),
                    c->who.name);
    /* Repeating, so uv_timer_again (each read) restarts it: libuv's
     * uv_timer_again does nothing to a one-shot timer. */
    uv_timer_start(&c->timer, on_idle, c->net->o.idle_timeout_ms, c->net->o.idle_timeout_ms);
    return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (nread <= 0) {
        sidik_free(buf->base);
        if (nread < 0)
            conn_close(c); /* EOF or error: the peer is gone */
        return;
    }
    int rc = BIO_write(c->rbio, buf->base, (int)nread) == (int)nread ? 0 : SIDIK_ENOMEM;
    sidik_free(buf->base);
    if (rc == 0 && c->h2 == NULL)
        rc = handshake(c);
    if (rc == 0 && c->h2 != NULL) {
        uv_timer_again(&c->timer);
        uint8_t plain[16384];
        int got;
        while (rc == 0 && (got = SSL_read(c->ssl, plain, sizeof plain)) > 0)
            rc = sidik_h2_conn_recv(c->h2, plain, (size_t)got);
        if (rc == 0) {
            int e = SSL_get_error(c->ssl, got);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                rc = e == SSL_ERROR_ZERO_RETURN ? SIDIK_ECANCELLED : SIDIK_EFORMAT;
            ERR_clear_error();
        }
    }
    conn_service(c, rc);
}

/* ---- output queued from outside a read (sidik_h2_conn_set_wake) ------------------- */

static void flush_dirty(uv_idle_t *h)
{
    sidik_net *n = h->data;
    while (n->dirty != NULL) {
        conn *c = n->dirty;
        dirty_remove(c);
        conn_service(c, 0);
    }
    uv_idle_stop(h);
}

/* Only notes the connection: the wake comes from inside an h2 call, which
 * must not be re-entered; the flush runs from the loop right after. */
static void conn_wake(void *arg)
{
    conn *c = arg;
    if (c->dirty || c->closing || c->shutting)
        return;
    c->dirty = true;
    c->dirty_prev = NULL;
    c->dirty_next = c->net->dirty;
    if (c->net->dirty != NULL)
        c->net->dirty->dirty_prev = c;
    c->net->dirty = c;
    uv_idle_start(&c->net->flusher, flush_dirty);
}

/* ---- accepting ------------------------------------------------------------------ */

static void on_connection(uv_stream_t *server, int status)
{
    sidik_net *n = server->data;
    if (status < 0 || n->stopping)
        return;
    conn *c = sidik_trycalloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->net = n;
    uv_tcp_init(n->loop, &c->tcp);
    uv_timer_init(n->loop, &c->timer);
    uv_timer_init(n->loop, &c->deadline);
    c->tcp.data = c->timer.data = c->deadline.data = c;
    c->handles_open = 3;
    c->next = n->conns;
    if (n->conns != NULL)
        n->conns->prev = c;
    n->conns = c;
    n->nconns++;
    metric(n, SIDIK_M_CONNECTIONS_OPEN, 1);
    metric(n, SIDIK_M_CONNECTIONS_TOTAL, 1);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || !(c->counted = sidik__limits_open(n->limits))) {
        metric(n, SIDIK_M_CONNECTIONS_REFUSED, 1);
        conn_close(c);
        return;
    }
    c->ssl = SSL_new(n->ssl);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        c->rbio = c->wbio = NULL;
        conn_close(c);
        return;
    }
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_accept_state(c->ssl);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, on_idle, n->o.handshake_timeout_ms, 0);
    c->reading = true;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* "host:port", host a name or literal, [v6] in brackets. */
int sidik__net_parse_listen(const char *s, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return SIDIK_EINVAL;
    char host[128];
    size_t hn = (size_t)(colon - s);
    if (s[0] == '[' && hn >= 2 && s[hn - 1] == ']') {
        s++;
        hn -= 2;
    }
    if (hn >= sizeof host)
        return SIDIK_EINVAL;
    memcpy(host, s, hn);
    host[hn] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != 0 || port < 0 || port > 65535)
        return SIDIK_EINVAL;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return SIDIK_EINVAL;
}

int sidik_net_start(uv_loop_t *loop, const sidik_net_options *o, sidik_net **out, const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (loop == NULL || o == NULL || (o->listen == NULL && o->share_listener == NULL) ||
        o->ssl == NULL || o->cb == NULL ||
        out == NULL)
        return SIDIK_EINVAL;
    struct sockaddr_storage ss;
    if (o->share_listener == NULL && sidik__net_parse_listen(o->listen, &ss) != 0) {
        *why = "listen must be an IP address (or localhost) and a port";
        return SIDIK_EINVAL;
    }
    sidik_net *n = sidik_trycalloc(1, sizeof *n);
    if (n == NULL)
        return SIDIK_ENOMEM;
    n->loop = loop;
    n->o = *o;
    n->ssl = o->ssl;
    if (n->o.handshake_timeout_ms == 0)
        n->o.handshake_timeout_ms = 10000;
    if (n->o.idle_timeout_ms == 0)
        n->o.idle_timeout_ms = 300000;
    n->limits = o->limits;
    if (n->limits == NULL) {
        int lrc = sidik_net_limits_create(o->max_connections, o->max_connections_per_client,
                                          &n->limits);
        if (lrc != 0) {
            sidik_free(n);
            return lrc;
        }
        n->own_limits = true;
    }
    uv_tcp_init(loop, &n->listener);
    n->listener.data = n;
    uv_idle_init(loop, &n->flusher);
    n->flusher.data = n;
    int rc;
    if (o->share_listener != NULL) {
        /* Another loop's socket: every loop polls it and whichever wakes
         * first accepts (libuv takes EAGAIN in its stride). */
        uv_os_fd_t fd;
        rc = uv_fileno((const uv_handle_t *)&o->share_listener->listener, &fd);
        int copy = rc == 0 ? dup(fd) : -1;
        rc = copy < 0 ? -errno : uv_tcp_open(&n->listener, copy);
        if (rc != 0 && copy >= 0)
            close(copy);
    } else {
        rc = uv_tcp_bind(&n->listener, (struct sockaddr *)&ss, 0);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&n->listener, 1024, on_connection);
    if (rc != 0) {
        *why = "cannot listen on that address";
        n->stopping = true;
        uv_close((uv_handle_t *)&n->listener, NULL);
        uv_close((uv_handle_t *)&n->flusher, NULL);
        /* The handle must outlive its close; run the loop once to finish it. */
        uv_run(loop, UV_RUN_NOWAIT);
        net_free(n);
        return rc;
    }
    SSL_CTX_up_ref(n->ssl);
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&n->listener, (struct sockaddr *)&bound, &len);
    n->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = n;
    return 0;
}

int sidik_net_port(const sidik_net *n)
{
    return n->port;
}

void sidik_net_set_ssl(sidik_net *n, SSL_CTX *ctx)
{
    SSL_CTX_up_ref(ctx);
    SSL_CTX_free(n->ssl); /* live connections hold their own references */
    n->ssl = ctx;
}

uint32_t sidik_net_connections(const sidik_net *n)
{
    return n->nconns;
}

static void net_free(sidik_net *n)
{
    if (n->own_limits)
        sidik_net_limits_destroy(n->limits);
    sidik_free(n);
}

static void net_maybe_done(sidik_net *n)
{
    if (!n->stopping || n->closing_handles > 0 || n->conns != NULL)
        return;
    void (*done)(void *) = n->done;
    void *arg = n->done_arg;
    SSL_CTX_free(n->ssl);
    net_free(n);
    if (done != NULL)
        done(arg);
}

static void net_handle_closed(uv_handle_t *h)
{
    sidik_net *n = h->data;
    n->closing_handles--;
    net_maybe_done(n);
}

static void close_listener(sidik_net *n)
{
    if (n->listener_closing)
        return;
    n->listener_closing = true;
    n->closing_handles++;
    uv_close((uv_handle_t *)&n->listener, net_handle_closed);
}

void sidik_net_quiesce(sidik_net *n)
{
    n->quiescing = true;
    close_listener(n);
    for (conn *c = n->conns; c != NULL; c = c->next)
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
}

/* A connection that has not finished writing within this after a graceful
 * stop is closed anyway (a client that does not read). */
#define STOP_WRITE_GRACE_MS 2000

#define STOP_MESSAGE                                                                              \
    "sidikd is stopping: what this call sent without a receipt was not accepted; send it again " \
    "(a resend of one already received gets its original receipt)"

static void on_stop_grace(uv_timer_t *t)
{
    conn_close(t->data);
}

void sidik_net_stop(sidik_net *n, void (*done)(void *arg), void *arg)
{
    n->stopping = true;
    n->done = done;
    n->done_arg = arg;
    close_listener(n);
    n->closing_handles++;
    uv_close((uv_handle_t *)&n->flusher, net_handle_closed);
    for (conn *c = n->conns; c != NULL; c = c->next) {
        if (!n->quiescing || c->h2 == NULL || sidik_h2_conn_shutdown(c->h2, STOP_MESSAGE) != 0 ||
            flush(c) != 0) {
            conn_close(c);
            continue;
        }
        /* Quiesced: what was answered goes out, each call's status after
         * its answers and a GOAWAY, then the close. Without the status a
         * client that sees the connection end may drop answers it has
         * received but not yet handed to its application. */
        dirty_remove(c);
        conn_finish(c);
        uv_timer_start(&c->timer, on_stop_grace, STOP_WRITE_GRACE_MS, 0);
    }
}

/*
 * GET /metrics over plain HTTP/1.1 (sidik/metrics_http.h).
 */
#include "net_int.h"
#include "sidik/common.h"
#include "sidik/metrics_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define REQUEST_MAX  4096
#define READ_TIMEOUT 5000

typedef struct peer peer;

struct sidik_metrics_http {
    uv_tcp_t listener;
    const sidik_metrics *m;
    peer *peers;
    int port;
    bool stopping;
    int handles;
};

struct peer {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    uv_shutdown_t shutdown;
    sidik_metrics_http *h;
    peer *prev, *next;
    char req[REQUEST_MAX];
    size_t len;
    char *resp;
    bool answered, closing;
    int handles;
};

static void maybe_free(sidik_metrics_http *h)
{
    if (h->stopping && h->handles == 0 && h->peers == NULL)
        sidik_free(h);
}

static void peer_closed(uv_handle_t *handle)
{
    peer *p = handle->data;
    if (--p->handles > 0)
        return;
    sidik_metrics_http *h = p->h;
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        h->peers = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    sidik_free(p->resp);
    sidik_free(p);
    maybe_free(h);
}

static void peer_close(peer *p)
{
    if (p->closing)
        return;
    p->closing = true;
    uv_close((uv_handle_t *)&p->tcp, peer_closed);
    uv_close((uv_handle_t *)&p->timer, peer_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    peer_close(req->data);
}

static void on_written(uv_write_t *req, int status)
{
    peer *p = req->data;
    if (status < 0 || uv_shutdown(&p->shutdown, (uv_stream_t *)&p->tcp, on_shutdown) != 0)
        peer_close(p);
}

static void answer(peer *p, int code, const char *reason, const char *body, size_t n)
{
    p->answered = true;
    uv_read_stop((uv_stream_t *)&p->tcp);
    size_t cap = n + 256;
    p->resp = sidik_trymalloc(cap);
    if (p->resp == NULL) {
        peer_close(p);
        return;
    }
    int hl = snprintf(p->resp, cap,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      code, reason, n);
    memcpy(p->resp + hl, body, n);
    uv_buf_t b = uv_buf_init(p->resp, (unsigned)(hl + (int)n));
    p->write.data = p->shutdown.data = p;
    if (uv_write(&p->write, (uv_stream_t *)&p->tcp, &b, 1, on_written) != 0)
        peer_close(p);
}

static void serve_request(peer *p)
{
    /* Only the request line matters; headers are read and ignored. */
    if (strncmp(p->req, "GET ", 4) != 0) {
        answer(p, 400, "Bad Request", "GET /metrics only\n", 18);
        return;
    }
    const char *path = p->req + 4;
    size_t pn = strcspn(path, " \r\n");
    if (!(pn == 8 && memcmp(path, "/metrics", 8) == 0)) {
        answer(p, 404, "Not Found", "try /metrics\n", 13);
        return;
    }
    size_t len;
    sidik_metrics_render(p->h->m, NULL, 0, &len);
    char *text = sidik_trymalloc(len + 1);
    if (text == NULL || sidik_metrics_render(p->h->m, text, len + 1, &len) != 0) {
        sidik_free(text);
        answer(p, 500, "Internal Server Error", "", 0);
        return;
    }
    answer(p, 200, "OK", text, len);
    sidik_free(text);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    peer *p = handle->data;
    *buf = uv_buf_init(p->req + p->len, (unsigned)(REQUEST_MAX - 1 - p->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    peer *p = s->data;
    if (n < 0 || p->answered) {
        if (n < 0)
            peer_close(p);
        return;
    }
    p->len += (size_t)n;
    p->req[p->len] = 0;
    if (strstr(p->req, "\r\n\r\n") != NULL || strstr(p->req, "\n\n") != NULL)
        serve_request(p);
    else if (p->len >= REQUEST_MAX - 1)
        answer(p, 400, "Bad Request", "request too long\n", 17);
}

static void on_timeout(uv_timer_t *t)
{
    peer_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    sidik_metrics_http *h = server->data;
    if (status < 0 || h->stopping)
        return;
    peer *p = sidik_trycalloc(1, sizeof *p);
    if (p == NULL)
        return;
    p->h = h;
    uv_tcp_init(server->loop, &p->tcp);
    uv_timer_init(server->loop, &p->timer);
    p->tcp.data = p->timer.data = p;
    p->handles = 2;
    p->next = h->peers;
    if (h->peers != NULL)
        h->peers->prev = p;
    h->peers = p;
    if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0) {
        peer_close(p);
        return;
    }
    uv_timer_start(&p->timer, on_timeout, READ_TIMEOUT, 0);
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

static void listener_closed(uv_handle_t *handle)
{
    sidik_metrics_http *h = handle->data;
    h->handles--;
    maybe_free(h);
}

int sidik_metrics_http_start(uv_loop_t *loop, const char *listen, const sidik_metrics *m,
                             sidik_metrics_http **out)
{
    struct sockaddr_storage ss;
    if (loop == NULL || listen == NULL || m == NULL || out == NULL ||
        sidik__net_parse_listen(listen, &ss) != 0)
        return SIDIK_EINVAL;
    sidik_metrics_http *h = sidik_trycalloc(1, sizeof *h);
    if (h == NULL)
        return SIDIK_ENOMEM;
    h->m = m;
    h->handles = 1;
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    int rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
    if (rc != 0) {
        h->stopping = true;
        uv_close((uv_handle_t *)&h->listener, listener_closed);
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &len);
    h->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = h;
    return 0;
}

int sidik_metrics_http_port(const sidik_metrics_http *h)
{
    return h->port;
}

void sidik_metrics_http_stop(sidik_metrics_http *h)
{
    h->stopping = true;
    uv_close((uv_handle_t *)&h->listener, listener_closed);
    for (peer *p = h->peers; p != NULL; p = p->next)
        peer_close(p);
}

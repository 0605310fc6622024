/*
 * sidikd's I/O loops (sidikd.h): one net and one ingest port per loop, the
 * listening socket shared, the other loops' threads started and stopped
 * from the main thread through their command handles.
 */
#include "sidik/common.h"
#include "sidikd.h"

#include <stdio.h>

static int loop_open(daemon_t *d, io_loop *l, const sidik_net *share, const char **why)
{
    const sidik_config *c = &d->cfg;
    sidik_net_options o = {.listen = c->listen,
                           .share_listener = share,
                           .ssl = d->ssl,
                           .h2 = {.max_message_bytes = (uint32_t)c->max_message_bytes,
                                  .max_streams = c->max_streams},
                           .cb = &sidikd_services,
                           .ctx = l,
                           .handshake_timeout_ms = c->handshake_timeout_ms,
                           .idle_timeout_ms = c->idle_timeout_ms,
                           .limits = d->limits,
                           .metrics = d->metrics};
    int rc = sidik_net_start(l->loop, &o, &l->net, why);
    if (rc == 0)
        rc = sidik_ingest_port_open(d->ingest, l->loop, &l->port);
    return rc;
}

/* ---- the other loops' threads ----------------------------------------------------- */

static void run_loop(void *arg)
{
    io_loop *l = arg;
    uv_run(l->loop, UV_RUN_DEFAULT);
}

static void worker_net_stopped(void *arg)
{
    io_loop *l = arg;
    sidik_ingest_port_close(l->port, NULL, NULL);
    l->port = NULL;
    uv_close((uv_handle_t *)&l->cmd, NULL); /* the last handle: the thread ends */
    atomic_fetch_sub(&l->d->loops_running, 1);
    uv_async_send(&l->d->loops_stopped);
}

/* On the loop's own thread: a certificate to take, a quiesce, a stop. */
static void on_cmd(uv_async_t *h)
{
    io_loop *l = h->data;
    pthread_mutex_lock(&l->ssl_mu);
    SSL_CTX *ctx = l->new_ssl;
    l->new_ssl = NULL;
    pthread_mutex_unlock(&l->ssl_mu);
    if (ctx != NULL) {
        if (l->net != NULL)
            sidik_net_set_ssl(l->net, ctx);
        SSL_CTX_free(ctx);
    }
    int want = atomic_load(&l->want);
    if ((want & LOOP_QUIESCE) && l->net != NULL && !l->quiesced) {
        sidik_net_quiesce(l->net);
        l->quiesced = true;
        atomic_fetch_add(&l->d->loops_quiesced, 1);
    }
    if ((want & LOOP_STOP) && l->net != NULL) {
        sidik_net *n = l->net;
        l->net = NULL;
        sidik_net_stop(n, worker_net_stopped, l);
    }
}

static void command(io_loop *l, int what)
{
    atomic_fetch_or(&l->want, what);
    uv_async_send(&l->cmd);
}

/* ---- from the main thread ----------------------------------------------------------- */

static void all_stopped_check(daemon_t *d)
{
    if (atomic_load(&d->loops_running) > 0 || d->stop_done == NULL)
        return;
    for (uint32_t i = 1; i < d->nloops; i++) {
        uv_thread_join(&d->loops[i].thread);
        uv_loop_close(&d->loops[i].own);
    }
    for (uint32_t i = 0; i < d->nloops; i++) {
        pthread_mutex_destroy(&d->loops[i].ssl_mu);
        SSL_CTX_free(d->loops[i].new_ssl);
    }
    uv_close((uv_handle_t *)&d->loops_stopped, NULL);
    sidik_net_limits_destroy(d->limits);
    d->limits = NULL;
    void (*done)(daemon_t *) = d->stop_done;
    d->stop_done = NULL;
    done(d);
}

static void on_loops_stopped(uv_async_t *h)
{
    all_stopped_check(h->data);
}

static void main_net_stopped(void *arg)
{
    io_loop *l = arg;
    sidik_ingest_port_close(l->port, NULL, NULL);
    l->port = NULL;
    atomic_fetch_sub(&l->d->loops_running, 1);
    all_stopped_check(l->d);
}

int sidikd_loops_start(daemon_t *d)
{
    const sidik_config *c = &d->cfg;
    d->nloops = c->io_threads;
    d->loops = sidik_xcalloc(d->nloops, sizeof *d->loops);
    if (sidik_net_limits_create(c->max_connections, c->max_connections_per_client, &d->limits) != 0)
        return 1;
    for (uint32_t i = 0; i < d->nloops; i++) {
        io_loop *l = &d->loops[i];
        l->d = d;
        l->index = i;
        pthread_mutex_init(&l->ssl_mu, NULL);
        l->loop = i == 0 ? &d->loop : &l->own;
        if (i > 0 && uv_loop_init(&l->own) != 0)
            return 1;
        const char *why = NULL;
        int rc = loop_open(d, l, i == 0 ? NULL : d->loops[0].net, &why);
        if (rc != 0) {
            fprintf(stderr, "sidikd: listen %s (loop %u): %s (%s)\n", c->listen, i, why ? why : "",
                    sidik_strerror(rc));
            return 1;
        }
        if (i > 0) {
            uv_async_init(l->loop, &l->cmd, on_cmd);
            l->cmd.data = l;
        }
    }
    uv_async_init(&d->loop, &d->loops_stopped, on_loops_stopped);
    d->loops_stopped.data = d;
    atomic_store(&d->loops_running, d->nloops);
    for (uint32_t i = 1; i < d->nloops; i++)
        if (uv_thread_create(&d->loops[i].thread, run_loop, &d->loops[i]) != 0) {
            fprintf(stderr, "sidikd: cannot start I/O thread %u\n", i);
            return 1;
        }
    SIDIK_LOG_INFO("listening", "address=%s port=%d io_threads=%u", c->listen,
                   sidik_net_port(d->loops[0].net), d->nloops);
    return 0;
}

bool sidikd_loops_quiesced(daemon_t *d)
{
    return atomic_load(&d->loops_quiesced) == d->nloops - 1;
}

void sidikd_loops_quiesce(daemon_t *d)
{
    sidik_net_quiesce(d->loops[0].net);
    for (uint32_t i = 1; i < d->nloops; i++)
        command(&d->loops[i], LOOP_QUIESCE);
}

void sidikd_loops_stop(daemon_t *d, void (*done)(daemon_t *d))
{
    d->stop_done = done;
    /* The others first: loop 0's socket is the one they share. */
    for (uint32_t i = 1; i < d->nloops; i++)
        command(&d->loops[i], LOOP_STOP);
    sidik_net *n = d->loops[0].net;
    d->loops[0].net = NULL;
    sidik_net_stop(n, main_net_stopped, &d->loops[0]);
}

void sidikd_loops_set_ssl(daemon_t *d, SSL_CTX *ctx)
{
    if (d->loops[0].net != NULL)
        sidik_net_set_ssl(d->loops[0].net, ctx);
    for (uint32_t i = 1; i < d->nloops; i++) {
        io_loop *l = &d->loops[i];
        SSL_CTX_up_ref(ctx);
        pthread_mutex_lock(&l->ssl_mu);
        SSL_CTX *old = l->new_ssl;
        l->new_ssl = ctx;
        pthread_mutex_unlock(&l->ssl_mu);
        SSL_CTX_free(old);
        uv_async_send(&l->cmd);
    }
}

/*
 * sidikd: the central ingest and deduplication server.
 *
 * This build serves gRPC over TLS 1.3 with mutual certificates on one libuv
 * loop: handshakes, identities, the role check, HTTP/2 and gRPC framing are
 * real. The services themselves are not yet wired to the journal and the
 * pipeline: every call a caller's role allows is answered UNIMPLEMENTED
 * with a message saying so, never with a made-up result. SIGTERM and SIGINT
 * stop it (connections closed, exit 0); SIGHUP reloads the certificates.
 */
#include "sidik/common.h"
#include "sidik/config.h"
#include "sidik/metrics.h"
#include "sidik/metrics_http.h"
#include "sidik/net.h"
#include "sidik/tls.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#ifndef SIDIK_VERSION
#define SIDIK_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: sidikd [--config FILE] [--check-config] | --version | --help\n"
               "\n"
               "The central sidik server.\n"
               "  --config FILE    settings (deploy/sidikd.conf documents every key)\n"
               "  --check-config   load the settings and the TLS files, print the\n"
               "                   settings in force, and exit: 0 when all is well,\n"
               "                   1 when a TLS file is refused, 2 for a bad config\n"
               "Without --check-config it serves gRPC on the listen address until\n"
               "SIGTERM; the services are not wired to the pipeline in this build yet\n"
               "and answer UNIMPLEMENTED.\n");
}

static void print_config(const sidik_config *c)
{
    printf("listen = %s\nmetrics_listen = %s\nio_threads = %u\nmax_connections = %u\n"
           "max_streams = %u\nhandshake_timeout = %llums\nidle_timeout = %llums\n"
           "max_message_bytes = %llu\ntls_ca = %s\ntls_cert = %s\ntls_key = %s\ndata_dir = %s\n"
           "journal_segment_bytes = %llu\njournal_max_pending_bytes = %llu\ndedup_threads = %u\n"
           "duplicate_fpir = %g\nreview_fpir = %g\nlog_level = %s\n",
           c->listen, c->metrics_listen, c->io_threads, c->max_connections, c->max_streams,
           (unsigned long long)c->handshake_timeout_ms, (unsigned long long)c->idle_timeout_ms,
           (unsigned long long)c->max_message_bytes, c->tls_ca, c->tls_cert, c->tls_key,
           c->data_dir, (unsigned long long)c->journal_segment_bytes,
           (unsigned long long)c->journal_max_pending_bytes, c->dedup_threads, c->duplicate_fpir,
           c->review_fpir, c->log_level);
}

/* ---- serving ------------------------------------------------------------------ */

typedef struct daemon {
    uv_loop_t loop;
    sidik_config cfg;
    SSL_CTX *ssl;
    sidik_net *net;
    sidik_metrics *metrics;
    sidik_metrics_http *metrics_http;
    uv_signal_t term, intr, hup;
} daemon_t;

/* Requests are read (so size limits and deadlines apply as they will),
 * then answered: not served by this build. */
static void not_wired(sidik_h2_call *call)
{
    SIDIK_LOG_DEBUG("call not served", "method=%s", sidik_h2_call_method(call)->path);
    sidik_h2_call_finish(call, SIDIK_GRPC_UNIMPLEMENTED,
                         "this sidikd build does not serve this method yet (see README.md)");
}

static int on_call(void *ctx, sidik_h2_call *call)
{
    (void)ctx;
    (void)call;
    return 0;
}

static int on_message(void *ctx, sidik_h2_call *call, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    not_wired(call);
    return 0;
}

static void on_half_close(void *ctx, sidik_h2_call *call)
{
    (void)ctx;
    not_wired(call); /* SIDIK_ESTATE when a message already answered it */
}

static const sidik_h2_callbacks services = {on_call, on_message, on_half_close, NULL};

static void net_stopped(void *arg)
{
    daemon_t *d = arg;
    uv_close((uv_handle_t *)&d->term, NULL);
    uv_close((uv_handle_t *)&d->intr, NULL);
    uv_close((uv_handle_t *)&d->hup, NULL);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
    daemon_t *d = s->data;
    if (d->net == NULL)
        return;
    SIDIK_LOG_INFO("stopping", "signal=%d connections=%u", signum, sidik_net_connections(d->net));
    sidik_net *n = d->net;
    d->net = NULL;
    sidik_metrics_http_stop(d->metrics_http);
    sidik_net_stop(n, net_stopped, d);
}

static void on_reload(uv_signal_t *s, int signum)
{
    (void)signum;
    daemon_t *d = s->data;
    SSL_CTX *ctx;
    const char *why = NULL;
    sidik_tls_files f = {d->cfg.tls_ca, d->cfg.tls_cert, d->cfg.tls_key};
    int rc = sidik_tls_server_ctx_create(&f, &ctx, &why);
    if (rc != 0) {
        SIDIK_LOG_ERROR("certificate reload refused; the old ones stay in use", "reason=\"%s\"",
                        why ? why : sidik_strerror(rc));
        return;
    }
    if (d->net != NULL)
        sidik_net_set_ssl(d->net, ctx);
    SSL_CTX_free(d->ssl); /* live connections hold their own reference */
    d->ssl = ctx;
    SIDIK_LOG_INFO("certificates reloaded", "cert=\"%s\"", d->cfg.tls_cert);
}

static int serve(daemon_t *d)
{
    uv_loop_init(&d->loop);
    if (sidik_metrics_create(&d->metrics) != 0)
        return 1;
    sidik_net_options o = {.listen = d->cfg.listen,
                           .ssl = d->ssl,
                           .h2 = {.max_message_bytes = (uint32_t)d->cfg.max_message_bytes,
                                  .max_streams = d->cfg.max_streams},
                           .cb = &services,
                           .handshake_timeout_ms = d->cfg.handshake_timeout_ms,
                           .idle_timeout_ms = d->cfg.idle_timeout_ms,
                           .max_connections = d->cfg.max_connections,
                           .metrics = d->metrics};
    const char *why = NULL;
    int rc = sidik_net_start(&d->loop, &o, &d->net, &why);
    if (rc != 0) {
        fprintf(stderr, "sidikd: listen %s: %s (%s)\n", d->cfg.listen, why ? why : "",
                sidik_strerror(rc));
        return 1;
    }
    if ((rc = sidik_metrics_http_start(&d->loop, d->cfg.metrics_listen, d->metrics,
                                       &d->metrics_http)) != 0) {
        fprintf(stderr, "sidikd: metrics_listen %s: %s\n", d->cfg.metrics_listen, sidik_strerror(rc));
        return 1;
    }
    SIDIK_LOG_INFO("metrics listening", "address=%s metrics_port=%d", d->cfg.metrics_listen,
                   sidik_metrics_http_port(d->metrics_http));
    uv_signal_init(&d->loop, &d->term);
    uv_signal_init(&d->loop, &d->intr);
    uv_signal_init(&d->loop, &d->hup);
    d->term.data = d->intr.data = d->hup.data = d;
    uv_signal_start(&d->term, on_stop_signal, SIGTERM);
    uv_signal_start(&d->intr, on_stop_signal, SIGINT);
    uv_signal_start(&d->hup, on_reload, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    SIDIK_LOG_INFO("listening", "address=%s port=%d", d->cfg.listen, sidik_net_port(d->net));
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    SSL_CTX_free(d->ssl);
    sidik_metrics_destroy(d->metrics);
    SIDIK_LOG_INFO("stopped", NULL);
    return 0;
}

int main(int argc, char **argv)
{
    sidik_log_init_from_env();
    const char *config_path = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0 && argc == 2) {
            printf("sidikd %s\n", SIDIK_VERSION);
            return 0;
        } else if ((strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) && argc == 2) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && config_path == NULL) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check = 1;
        } else {
            usage(stderr);
            return 2;
        }
    }
    sidik_config cfg;
    sidik_config_defaults(&cfg);
    if (config_path != NULL) {
        unsigned line = 0;
        const char *why = NULL;
        int rc = sidik_config_load(config_path, &cfg, &line, &why);
        if (rc != 0) {
            if (line > 0)
                fprintf(stderr, "sidikd: %s:%u: %s\n", config_path, line, why ? why : sidik_strerror(rc));
            else
                fprintf(stderr, "sidikd: %s: %s (%s)\n", config_path, why ? why : "unreadable",
                        sidik_strerror(rc));
            return 2;
        }
    }
    sidik_log_level level_cfg;
    if (getenv("SIDIK_LOG") == NULL && sidik_log_level_parse(cfg.log_level, &level_cfg) == 0)
        sidik_log_set_level(level_cfg); /* SIDIK_LOG, when set, wins */
    SSL_CTX *ctx = NULL;
    const char *why = NULL;
    sidik_tls_files files = {cfg.tls_ca, cfg.tls_cert, cfg.tls_key};
    int rc = sidik_tls_server_ctx_create(&files, &ctx, &why);
    if (rc != 0) {
        fprintf(stderr, "sidikd: TLS: %s (tls_ca %s, tls_cert %s, tls_key %s); deploy/pki.sh DIR "
                        "makes a development set\n",
                why ? why : sidik_strerror(rc), cfg.tls_ca, cfg.tls_cert, cfg.tls_key);
        return 1;
    }
    if (check) {
        SSL_CTX_free(ctx);
        print_config(&cfg);
        return 0;
    }
    sidik_simd_level level;
    if (sidik_simd_choose_from_env(&level, &why) != 0) {
        SSL_CTX_free(ctx);
        return 1;
    }
    SIDIK_LOG_INFO("simd level chosen", "simd=%s", sidik_simd_level_name(level));
    static daemon_t d;
    d.cfg = cfg;
    d.ssl = ctx;
    return serve(&d);
}

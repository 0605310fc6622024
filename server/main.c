/*
 * sidikd: the central ingest and deduplication server.
 *
 * This build loads and checks its configuration (`--check-config`), knows
 * its version and checks the CPU; the gRPC service arrives with the rest of
 * the ingest work (issue 6), so until then serving says so and exits
 * non-zero rather than pretend to serve.
 */
#include "sidik/common.h"
#include "sidik/config.h"
#include "sidik/tls.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

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
               "In this build the gRPC ingest service is not built yet.\n");
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
    SSL_CTX_free(ctx);
    if (check) {
        print_config(&cfg);
        return 0;
    }
    sidik_simd_level level;
    if (sidik_simd_choose_from_env(&level, &why) != 0)
        return 1;
    SIDIK_LOG_INFO("simd level chosen", "simd=%s", sidik_simd_level_name(level));
    SIDIK_LOG_ERROR("the gRPC ingest service is not implemented in this build", NULL);
    return 1;
}

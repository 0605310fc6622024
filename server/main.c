/*
 * sidikd: the central ingest and deduplication server.
 *
 * Serves gRPC over TLS 1.3 with mutual certificates on io_threads libuv
 * loops (loops.c), the gRPC services dispatched in services.c.
 * Ingest.Upload (sidik/ingest.h) validates enrollments, makes them durable
 * in the journal and records them RECEIVED in the control store before its
 * Receipts go out; Status.Get and Status.List answer from the control store
 * (sidik/status_service.h). Behind them the dedup stage (pipeline.c,
 * sidik/dedup.h) decides each RECEIVED enrollment in journal order against
 * the gallery in data_dir/gallery: PRINT_READY (stored and queued for
 * printing), DUPLICATE or ADJUDICATE. The other services are not wired yet:
 * a call a caller's role allows is answered UNIMPLEMENTED with a message
 * saying so, never with a made-up result. SIGTERM and SIGINT stop it
 * (calls answered, connections closed, the dedup stage after its batch,
 * journal synced and closed, exit 0); SIGHUP reloads the certificates.
 */
#include "sidik/common.h"
#include "sidik/settings_record.h"
#include "sidik/tls.h"
#include "sidikd.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
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
               "SIGTERM: Ingest.Upload and Status, each enrollment deduplicated\n"
               "behind them; the other services answer UNIMPLEMENTED in this build.\n");
}

/* The settings in force, one `key = value` line each in the documented
 * order; Admin.GetConfig answers the same text (sidik_config_format). */
static void print_config(const sidik_config *c)
{
    char v[SIDIK_CONFIG_STR + 32];
    for (const char *const *k = sidik_config_keys; *k != NULL; k++)
        if (sidik_config_format(c, *k, v, sizeof v) == 0)
            printf("%s = %s\n", *k, v);
}

/* ---- serving ------------------------------------------------------------------ */

/* How long a graceful stop waits for accepted enrollments to be answered. */
#define DRAIN_MAX_MS 5000

/* Every loop's connections are closed: the journal is synced and closed,
 * what it made durable recorded, and the stores closed. */
static void loops_stopped(daemon_t *d)
{
    uv_close((uv_handle_t *)&d->term, NULL);
    uv_close((uv_handle_t *)&d->intr, NULL);
    uv_close((uv_handle_t *)&d->hup, NULL);
    sidikd_pipeline_close(d);
    int rc = sidik_ingest_close(d->ingest);
    if (rc != 0)
        SIDIK_LOG_ERROR("the journal had stopped", "error=%s", sidik_err_name(rc));
    d->ingest = NULL;
    sidik_control_close(d->control);
    d->control = NULL;
}

/* Waits until every loop has stopped reading and every accepted
 * enrollment is answered (or DRAIN_MAX_MS), then closes the connections
 * once their answers are written. Idle before every loop has stopped
 * reading proves nothing: another loop may accept one more a moment later. */
static void drain_tick(uv_timer_t *t)
{
    daemon_t *d = t->data;
    bool idle = sidikd_loops_quiesced(d) && sidik_ingest_idle(d->ingest);
    if (!idle && uv_now(&d->loop) - d->drain_since < DRAIN_MAX_MS)
        return;
    if (!idle)
        SIDIK_LOG_WARN("stopping with receipts unsent; resends will get them", "in_flight=%u",
                       sidik_ingest_in_flight(d->ingest));
    uv_close((uv_handle_t *)&d->drain, NULL);
    sidikd_loops_stop(d, loops_stopped);
}

/* A graceful stop: no new connections and nothing more read; what was
 * accepted is made durable and answered; then connections close, the
 * journal is synced and closed, and the stores closed. */
static void on_stop_signal(uv_signal_t *s, int signum)
{
    daemon_t *d = s->data;
    if (d->stopping)
        return;
    d->stopping = true;
    SIDIK_LOG_INFO("stopping", "signal=%d connections=%lld in_flight=%u", signum,
                   (long long)sidik_metrics_get(d->metrics, SIDIK_M_CONNECTIONS_OPEN),
                   sidik_ingest_in_flight(d->ingest));
    sidik_metrics_http_stop(d->metrics_http);
    sidik_admin_stop(d->admin); /* a rebalance stops after its batch, its caller told why */
    sidikd_loops_quiesce(d);
    d->drain_since = uv_now(&d->loop);
    uv_timer_init(&d->loop, &d->drain);
    d->drain.data = d;
    uv_timer_start(&d->drain, drain_tick, 0, 10);
}

static void on_reload(uv_signal_t *s, int signum)
{
    (void)signum;
    daemon_t *d = s->data;
    if (d->stopping)
        return;
    SSL_CTX *ctx;
    const char *why = NULL;
    sidik_tls_files f = {d->cfg.tls_ca, d->cfg.tls_cert, d->cfg.tls_key};
    int rc = sidik_tls_server_ctx_create(&f, &ctx, &why);
    if (rc != 0) {
        SIDIK_LOG_ERROR("certificate reload refused; the old ones stay in use", "reason=\"%s\"",
                        why ? why : sidik_strerror(rc));
        return;
    }
    sidikd_loops_set_ssl(d, ctx); /* each loop takes its own reference */
    SSL_CTX_free(d->ssl);
    d->ssl = ctx;
    SIDIK_LOG_INFO("certificates reloaded", "cert=\"%s\"", d->cfg.tls_cert);
}

/* SIDIK_DRILL_SLOW_DISK_MS=N: every journal fdatasync takes N ms longer,
 * as on a failing or overloaded disk. For tests and operator drills of
 * backpressure (the stage behind the network falls behind, and sidikd
 * must stop reading rather than buffer); logged loudly when set. */
static unsigned slow_disk_ms;

static int slow_disk(void *ctx, sidik_journal_op op)
{
    (void)ctx;
    if (op == SIDIK_JOURNAL_OP_SYNC)
        usleep(slow_disk_ms * 1000u);
    return 0;
}

static void slow_disk_drill(sidik_journal_options *jo)
{
    const char *v = getenv("SIDIK_DRILL_SLOW_DISK_MS");
    if (v == NULL || v[0] == 0)
        return;
    char *end;
    unsigned long ms = strtoul(v, &end, 10);
    if (*end != 0 || ms == 0 || ms > 10000) {
        SIDIK_LOG_WARN("SIDIK_DRILL_SLOW_DISK_MS ignored: not 1-10000", "value=%s", v);
        return;
    }
    slow_disk_ms = (unsigned)ms;
    jo->fault = slow_disk;
    SIDIK_LOG_WARN("drill: every journal sync delayed (SIDIK_DRILL_SLOW_DISK_MS)", "ms=%lu", ms);
}

/* data_dir/control and data_dir/journal: opened, and the journal's
 * entries the control store has not recorded replayed into it; then the
 * dedup pipeline (data_dir/gallery), which decides what is recorded. */
static int open_stores(daemon_t *d)
{
    const sidik_config *c = &d->cfg;
    if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "sidikd: data_dir %s: %s\n", c->data_dir, strerror(errno));
        return 1;
    }
    char control_dir[SIDIK_CONFIG_STR + 16], journal_dir[SIDIK_CONFIG_STR + 16];
    snprintf(control_dir, sizeof control_dir, "%s/control", c->data_dir);
    snprintf(journal_dir, sizeof journal_dir, "%s/journal", c->data_dir);
    const char *why = NULL;
    int rc = sidik_control_open(control_dir, NULL, &d->control, &why);
    if (rc != 0) {
        fprintf(stderr, "sidikd: control store %s: %s (%s)\n", control_dir, why ? why : "",
                sidik_strerror(rc));
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned changed = 0;
    rc = sidik_settings_record(d->control, c, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                               &changed);
    if (rc != 0) {
        fprintf(stderr, "sidikd: control store %s: cannot record the settings (%s)\n",
                control_dir, sidik_strerror(rc));
        sidik_control_close(d->control);
        return 1;
    }
    if (changed > 0)
        SIDIK_LOG_INFO("settings recorded in the audit log", "changed=%u", changed);
    sidik_ingest_options io = {.journal_dir = journal_dir,
                               .journal = {.segment_bytes = c->journal_segment_bytes,
                                           .max_pending_bytes = c->journal_max_pending_bytes},
                               .control = d->control,
                               .metrics = d->metrics,
                               .max_enrollment_bytes = c->max_message_bytes,
                               .staging_office_bytes = c->chunk_office_bytes,
                               .staging_office_count = c->chunk_office_enrollments,
                               .staging_total_bytes = c->chunk_total_bytes,
                               .staging_idle_ms = (int64_t)c->chunk_idle_ms};
    slow_disk_drill(&io.journal);
    sidikd_pipeline_hook(d, &io);
    uint64_t replayed = 0;
    rc = sidik_ingest_open(&io, &d->ingest, &replayed, &why);
    if (rc != 0) {
        fprintf(stderr, "sidikd: journal %s: %s (%s)\n", journal_dir, why ? why : "",
                sidik_strerror(rc));
        sidik_control_close(d->control);
        return 1;
    }
    SIDIK_LOG_INFO("stores open", "data_dir=%s replayed=%llu", c->data_dir,
                   (unsigned long long)replayed);
    if (sidikd_pipeline_open(d, d->level) != 0) {
        sidikd_pipeline_close(d);
        sidik_ingest_close(d->ingest);
        sidik_control_close(d->control);
        return 1;
    }
    return 0;
}

static int serve(daemon_t *d)
{
    uv_loop_init(&d->loop);
    if (sidik_metrics_create(&d->metrics) != 0)
        return 1;
    if (open_stores(d) != 0 || sidikd_loops_start(d) != 0)
        return 1;
    int rc = sidik_metrics_http_start(&d->loop, d->cfg.metrics_listen, d->metrics, &d->metrics_http);
    if (rc != 0) {
        fprintf(stderr, "sidikd: metrics_listen %s: %s\n", d->cfg.metrics_listen,
                sidik_strerror(rc));
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
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    SSL_CTX_free(d->ssl);
    sidik_metrics_destroy(d->metrics);
    sidik_free(d->loops);
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
                fprintf(stderr, "sidikd: %s:%u: %s\n", config_path, line,
                        why ? why : sidik_strerror(rc));
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
        fprintf(stderr,
                "sidikd: TLS: %s (tls_ca %s, tls_cert %s, tls_key %s); deploy/pki.sh DIR "
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
    d.level = level;
    return serve(&d);
}

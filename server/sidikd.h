/*
 * Private to the sidikd executable: the daemon's state and its I/O loops.
 *
 * Loop 0 is the main thread's: it also runs the signals, /metrics and the
 * graceful stop. Loops 1..io_threads-1 run on their own threads. Every loop
 * has a listener on the one shared socket, its own connections, and its
 * own port into the ingest service; the control store, the ingest core,
 * the metrics and the connection limits are shared. The main thread talks
 * to the other loops only through their command handle (loops.c).
 */
#ifndef SIDIKD_H
#define SIDIKD_H

#include "sidik/admin_service.h"
#include "sidik/audit_service.h"
#include "sidik/config.h"
#include "sidik/control.h"
#include "sidik/dedup.h"
#include "sidik/ingest.h"
#include "sidik/metrics.h"
#include "sidik/metrics_http.h"
#include "sidik/net.h"
#include "sidik/print_service.h"
#include "sidik/shardset.h"
#include "sidik/workers.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

typedef struct daemon daemon_t;

typedef struct io_loop {
    daemon_t *d;
    uint32_t index;
    uv_loop_t *loop;          /* the main loop for index 0 */
    uv_loop_t own;            /* the others' */
    uv_thread_t thread;
    sidik_net *net;
    sidik_ingest_port *port;
    uv_async_t cmd;           /* commands from the main thread (index > 0) */
    atomic_int want;          /* LOOP_QUIESCE | LOOP_STOP */
    bool quiesced;            /* counted in daemon.loops_quiesced */
    pthread_mutex_t ssl_mu;
    SSL_CTX *new_ssl;         /* a reloaded certificate waiting to be taken (a reference) */
} io_loop;

#define LOOP_QUIESCE 1
#define LOOP_STOP    2

struct daemon {
    uv_loop_t loop;
    sidik_config cfg;
    SSL_CTX *ssl;
    sidik_metrics *metrics;
    sidik_metrics_http *metrics_http;
    sidik_control *control;
    sidik_ingest *ingest;
    sidik_shardset *shards;
    sidik_workers *workers;
    sidik_fusion *fusion;
    sidik_dedup *_Atomic dedup; /* set before the loops start, cleared at stop */
    EVP_PKEY *print_key;        /* signs print authorisations */
    sidik_print_service print;
    sidik_audit_service audit;  /* set with the pipeline: it kicks the dedup stage */
    sidik_admin *admin;         /* the Admin service (pipeline.c) */
    uv_timer_t admin_tick;      /* samples the dedup stage's work for Admin.Stats */
    sidik_net_limits *limits;
    io_loop *loops;
    uint32_t nloops;
    atomic_uint loops_running; /* whose nets have not finished stopping */
    atomic_uint loops_quiesced; /* other loops that have stopped reading */
    uv_async_t loops_stopped;  /* another loop's net finished stopping */
    void (*stop_done)(daemon_t *d);
    uv_signal_t term, intr, hup;
    uv_timer_t drain; /* a graceful stop waits on the ingest with this */
    uint64_t drain_since;
    bool stopping;
    sidik_simd_level level; /* the matcher kernels chosen at start */
};

/* The gRPC services behind every loop's connections (services.c); ctx is
 * the connection's io_loop. */
extern const sidik_h2_callbacks sidikd_services;

/* loops.c. Starts every loop's net and port (the others' threads too).
 * Errors print why and return 1. */
int sidikd_loops_start(daemon_t *d);
/* From the main thread: no new work on any loop. The other loops stop
 * reading on their own threads a moment later: sidikd_loops_quiesced says
 * when every one has, so nothing more can be accepted. */
void sidikd_loops_quiesce(daemon_t *d);
bool sidikd_loops_quiesced(daemon_t *d);
/* From the main thread: every loop's net stops; done(d) runs on the main
 * loop when all have, with the other threads joined. */
void sidikd_loops_stop(daemon_t *d, void (*done)(daemon_t *d));
/* From the main thread: every loop takes ctx for new connections. */
void sidikd_loops_set_ssl(daemon_t *d, SSL_CTX *ctx);

/* pipeline.c. hook: the ingest wakes the dedup stage (call before the
 * ingest opens). open: the gallery shards, workers, fusion model and dedup
 * stage, started, and the print service with its signing key (after the
 * ingest opened; errors print why and return 1).
 * close: before the ingest closes (the stage reads its journal). */
void sidikd_pipeline_hook(daemon_t *d, sidik_ingest_options *io);
int sidikd_pipeline_open(daemon_t *d, sidik_simd_level level);
void sidikd_pipeline_close(daemon_t *d);

#endif

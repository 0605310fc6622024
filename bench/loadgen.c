/*
 * loadgen: load for a running sidikd, for the ingest targets:
 *
 *  1. connections held: N mutual-TLS connections (TLS 1.3, then the HTTP/2
 *     preface and SETTINGS both ways), opened a few at a time, then left
 *     idle for the hold time; then a PING on each proves it is still
 *     served. Reports how many were held, for how long, and sidikd's RSS
 *     while they were.
 *  2. durable enrollments per second: M connections, each with one
 *     Ingest.Upload stream sending valid ~25 KB enrollments back to back
 *     with at most K unanswered, for D seconds. Counts Receipts with code 0
 *     (sent only once the enrollment is durable in the journal), the time
 *     from a message's last byte handed to the socket to its Receipt, and
 *     sidikd's peak RSS.
 *
 * Every connection uses the office certificate of JKT-01 from a
 * deploy/pki.sh directory, so sidikd must allow that many connections for
 * one client (max_connections_per_client). bench/loadgen.sh starts a
 * suitable sidikd and runs both phases. Prints figures; never passes or
 * fails (the exit status only says whether it could run at all).
 */
#include "loadgen_int.h"
#include "sidik/common.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: loadgen --port PORT --pki DIR [options]\n"
    "\n"
    "Load for a running sidikd on Ingest.Upload; prints figures.\n"
    "  --port PORT         sidikd's gRPC port (its log says msg=\"listening\" ... port=)\n"
    "  --pki DIR           deploy/pki.sh's directory: ca.crt, office-JKT-01.crt/.key\n"
    "  --pid PID           sidikd's process id, to report its RSS (VmRSS)\n"
    "  --host ADDR         IPv4 address (default 127.0.0.1)\n"
    "  --hold N            connections to hold open (default 5000; 0 skips)\n"
    "  --hold-seconds S    how long to hold them (default 10)\n"
    "  --stream N          connections streaming enrollments (default 1000; 0 skips)\n"
    "  --seconds D         how long they stream (default 20)\n"
    "  --outstanding K     unanswered enrollments per stream (default 4, at most 64)\n"
    "  --face-bytes B      size of each enrollment's face (default 22000: ~25 KB in all)\n"
    "  --ramp R            connection attempts in flight at once (default 64)\n"
    "\n"
    "Each connection is a file descriptor on both sides: loadgen raises its own\n"
    "soft limit to the hard one; start sidikd from a shell that did the same\n"
    "(`ulimit -n $(ulimit -Hn)`), with max_connections and\n"
    "max_connections_per_client above N (one certificate for all).\n";

typedef struct opts {
    const char *pki, *host;
    int port, pid;
    uint32_t hold, stream, outstanding, ramp;
    double hold_seconds, seconds;
    size_t face_bytes;
} opts;

typedef struct bench {
    lg g;
    opts o;
    uv_loop_t loop;
    uv_timer_t tick;
    long rss_kib, rss_peak_kib; /* sidikd's, sampled every tick; -1: unknown */
} bench;

/* ---- sidikd's resident memory ---------------------------------------------------------- */

/* VmRSS of pid in KiB; -1 when there is no pid or it cannot be read. */
static long rss_kib(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* CPU seconds (user + system) pid has used; -1 when unknown. Who spends the
 * two cores decides what a figure means: sidikd saturated, or loadgen. */
static double cpu_seconds(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields 14 and 15 (utime, stime), counted after the ")" that ends the
     * command name, which may itself hold spaces. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (p == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static const char *fmt_kib(long kib, char buf[32])
{
    if (kib < 0)
        snprintf(buf, 32, "unknown");
    else if (kib >= 1024 * 1024)
        snprintf(buf, 32, "%.2f GiB", (double)kib / (1024.0 * 1024.0));
    else
        snprintf(buf, 32, "%.0f MiB", (double)kib / 1024.0);
    return buf;
}

static void sample_rss(bench *b)
{
    b->rss_kib = rss_kib(b->o.pid);
    if (b->rss_kib > b->rss_peak_kib)
        b->rss_peak_kib = b->rss_kib;
}

/* Also keeps the loop waking at least this often, so run_until sees time pass. */
static void on_tick(uv_timer_t *t)
{
    sample_rss(t->data);
}

/* ---- running the loop ----------------------------------------------------------------- */

/* Runs the loop until done(b) holds or the seconds have passed; true when done. */
static bool run_until(bench *b, bool (*done)(const bench *), double seconds)
{
    uint64_t end = lg_now_ns() + (seconds > 0 ? (uint64_t)(seconds * 1e9) : 0);
    for (;;) {
        if (done != NULL && done(b))
            return true;
        if (lg_now_ns() >= end)
            return false;
        uv_run(&b->loop, UV_RUN_ONCE);
    }
}

static bool all_attempted(const bench *b)
{
    return b->g.ready + b->g.failed == b->g.nconns;
}

static bool all_closed(const bench *b)
{
    return b->g.closed_handles == b->g.open_handles;
}

static bool all_pinged(const bench *b)
{
    return b->g.pings_acked + b->g.lost >= b->g.ready;
}

static bool streams_done(const bench *b)
{
    return b->g.streams_open == 0;
}

static double secs_since(uint64_t t0)
{
    return (double)(lg_now_ns() - t0) / 1e9;
}

/* Opens n connections, at most --ramp attempts at a time; returns the
 * seconds it took. Prints what it got. */
static double connect_all(bench *b, uint32_t n)
{
    lg *g = &b->g;
    g->conns = sidik_xcalloc(n, sizeof *g->conns);
    g->nconns = n;
    g->next_open = g->connecting = g->ready = g->failed = g->lost = 0;
    g->open_handles = g->closed_handles = g->pings_acked = 0;
    uint64_t t0 = lg_now_ns();
    lg_connect_more(g);
    /* Generous: a server that stalls handshakes shows up as failures. */
    if (!run_until(b, all_attempted, 60.0 + n / 100.0))
        for (uint32_t i = 0; i < n; i++)
            if (g->conns[i].state != LG_READY) {
                lg_error(g, "connection %u: not ready before the connect deadline", i);
                lg_conn_close(&g->conns[i]);
                g->failed += g->conns[i].counted ? 0 : 1;
                g->conns[i].counted = true;
            }
    double secs = secs_since(t0);
    printf("connect %u/%u ready in %.1f s (%.0f handshakes/s), %u failed\n", g->ready, n, secs,
           g->ready / (secs > 0 ? secs : 1), g->failed);
    return secs;
}

static void close_all(bench *b)
{
    lg *g = &b->g;
    for (uint32_t i = 0; i < g->nconns; i++)
        lg_conn_close(&g->conns[i]);
    run_until(b, all_closed, 30.0);
    sidik_free(g->conns);
    g->conns = NULL;
    g->nconns = 0;
}

static void report_errors(bench *b)
{
    if (b->g.errors > 0)
        printf("errors %llu, the first: %s\n", (unsigned long long)b->g.errors, b->g.first_error);
    b->g.errors = 0;
    b->g.first_error[0] = 0;
}

/* ---- phase 1: connections held --------------------------------------------------------- */

static void hold_phase(bench *b)
{
    lg *g = &b->g;
    char before[32], held[32], peak[32];
    long rss_before = rss_kib(b->o.pid);
    connect_all(b, b->o.hold);
    uint32_t at_start = g->ready - g->lost;
    b->rss_peak_kib = -1;
    uint64_t t0 = lg_now_ns();
    run_until(b, NULL, b->o.hold_seconds);
    double secs = secs_since(t0);
    sample_rss(b);
    long rss_held = b->rss_kib;
    uint32_t still = g->ready - g->lost;
    for (uint32_t i = 0; i < g->nconns; i++)
        lg_conn_ping(&g->conns[i]);
    run_until(b, all_pinged, 10.0);
    printf("connections_held %u/%u for %.1f s (%u at the start, %u answered a PING after), "
           "server RSS %s (peak %s, %s before)\n",
           still, b->o.hold, secs, at_start, g->pings_acked, fmt_kib(rss_held, held),
           fmt_kib(b->rss_peak_kib, peak), fmt_kib(rss_before, before));
    if (still > 0 && rss_held > 0 && rss_before >= 0)
        printf("server memory per held connection %.1f KiB\n",
               (double)(rss_held - rss_before) / still);
    report_errors(b);
    close_all(b);
}

/* ---- phase 2: durable enrollments per second ------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(const uint32_t *sorted, size_t n, double q)
{
    return n == 0 ? 0 : sorted[(size_t)(q * (double)(n - 1) + 0.5)] / 1000.0;
}

static void stream_phase(bench *b)
{
    lg *g = &b->g;
    connect_all(b, b->o.stream);
    g->outstanding = b->o.outstanding;
    g->receipts_ok = g->receipts_refused = g->receipts_ok_in_window = g->bytes_in_window = 0;
    g->unanswered = g->nlat = 0;
    g->streams_open = g->streams_ok = g->streams_failed = 0;
    uint32_t streaming = g->ready - g->lost;
    sample_rss(b);
    b->rss_peak_kib = b->rss_kib;
    long rss_start = b->rss_kib;

    /* Every stream starts at once: the window measures the steady state of
     * all of them, not the ramp of connections. */
    g->streaming = true;
    g->draining = false;
    double server_cpu0 = cpu_seconds(b->o.pid), own_cpu0 = cpu_seconds(getpid());
    g->window_start_ns = lg_now_ns();
    g->window_end_ns = g->window_start_ns + (uint64_t)(b->o.seconds * 1e9);
    for (uint32_t i = 0; i < g->nconns; i++)
        lg_conn_upload(&g->conns[i]);
    /* To the window's end, not D from here: queueing the first messages
     * of a thousand streams takes a noticeable part of a second. */
    run_until(b, NULL, (double)(g->window_end_ns - lg_now_ns()) / 1e9);
    double server_cpu = cpu_seconds(b->o.pid) - server_cpu0;
    double own_cpu = cpu_seconds(getpid()) - own_cpu0;

    /* Time is up: no more new enrollments; the streams half-close once
     * what they queued has gone, and sidikd ends each call after its last
     * Receipt. */
    g->draining = true;
    for (uint32_t i = 0; i < g->nconns; i++)
        lg_conn_drain(&g->conns[i]);
    run_until(b, streams_done, 15.0);
    sample_rss(b);

    qsort(g->lat_us, g->nlat, sizeof *g->lat_us, cmp_u32);
    double rate = (double)g->receipts_ok_in_window / b->o.seconds;
    char peak[32], start[32];
    printf("streaming %u connections: %.0f durable enrollments/s, receipt latency p50 %.1f ms "
           "p99 %.1f ms, server RSS peak %s (%s at the start)\n",
           streaming, rate, percentile_ms(g->lat_us, g->nlat, 0.50),
           percentile_ms(g->lat_us, g->nlat, 0.99), fmt_kib(b->rss_peak_kib, peak),
           fmt_kib(rss_start, start));
    printf("streaming detail: %llu receipts code 0 in %.1f s (%llu in all), %llu refused, "
           "%llu never answered, %u connections lost, %u/%u calls ended OK, "
           "%.1f KB per enrollment, %.1f MB/s of enrollments, %u outstanding per stream, "
           "latency p90 %.1f ms max %.1f ms\n",
           (unsigned long long)g->receipts_ok_in_window, b->o.seconds,
           (unsigned long long)g->receipts_ok, (unsigned long long)g->receipts_refused,
           (unsigned long long)g->unanswered, g->lost, g->streams_ok, streaming,
           g->receipts_ok_in_window ? (double)g->bytes_in_window / g->receipts_ok_in_window / 1e3
                                    : 0.0,
           (double)g->bytes_in_window / b->o.seconds / 1e6, g->outstanding,
           percentile_ms(g->lat_us, g->nlat, 0.90),
           g->nlat ? g->lat_us[g->nlat - 1] / 1000.0 : 0.0);
    if (server_cpu0 >= 0)
        printf("streaming CPU: sidikd %.2f cores, loadgen %.2f cores, of %ld\n",
               server_cpu / b->o.seconds, own_cpu / b->o.seconds, sysconf(_SC_NPROCESSORS_ONLN));
    report_errors(b);
    g->streaming = false;
    close_all(b);
}

/* ---- set-up ---------------------------------------------------------------------------- */

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.host = "127.0.0.1",
                .hold = 5000,
                .hold_seconds = 10,
                .stream = 1000,
                .seconds = 20,
                .outstanding = 4,
                .face_bytes = 22000,
                .ramp = 64};
    static const struct option longs[] = {{"port", required_argument, NULL, 'p'},
                                          {"pki", required_argument, NULL, 'k'},
                                          {"pid", required_argument, NULL, 'P'},
                                          {"host", required_argument, NULL, 'H'},
                                          {"hold", required_argument, NULL, 'n'},
                                          {"hold-seconds", required_argument, NULL, 's'},
                                          {"stream", required_argument, NULL, 'm'},
                                          {"seconds", required_argument, NULL, 'd'},
                                          {"outstanding", required_argument, NULL, 'o'},
                                          {"face-bytes", required_argument, NULL, 'f'},
                                          {"ramp", required_argument, NULL, 'r'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (ch) {
        case 'p':
            o->port = atoi(optarg);
            break;
        case 'k':
            o->pki = optarg;
            break;
        case 'P':
            o->pid = atoi(optarg);
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'n':
            o->hold = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->hold_seconds = atof(optarg);
            break;
        case 'm':
            o->stream = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            o->seconds = atof(optarg);
            break;
        case 'o':
            o->outstanding = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'f':
            o->face_bytes = strtoul(optarg, NULL, 10);
            break;
        case 'r':
            o->ramp = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || o->port <= 0 || o->port > 65535 || o->pki == NULL || o->outstanding < 1 ||
        o->outstanding > LG_MAX_OUTSTANDING || o->ramp < 1 || o->face_bytes < 1 ||
        o->face_bytes > (1u << 20) || o->seconds <= 0 || o->hold_seconds < 0)
        return -1;
    return 0;
}

/* Five thousand connections need five thousand descriptors: take all the
 * hard limit allows and say so when it is not enough. */
static void raise_fd_limit(uint32_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("fd limit %llu (hard %llu)\n", (unsigned long long)rl.rlim_cur,
           (unsigned long long)rl.rlim_max);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need + 64)
        printf("warning: %u connections need more descriptors than the limit: raise the hard "
               "limit (ulimit -Hn, /etc/security/limits.conf)\n",
               need);
}

int main(int argc, char **argv)
{
    static bench b; /* large (the read buffer, the enrollment); main owns it */
    if (parse(argc, argv, &b.o) != 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(b.o.hold > b.o.stream ? b.o.hold : b.o.stream);
    lg *g = &b.g;
    char ca[4096], crt[4096], key[4096], why[256];
    snprintf(ca, sizeof ca, "%s/ca.crt", b.o.pki);
    snprintf(crt, sizeof crt, "%s/office-JKT-01.crt", b.o.pki);
    snprintf(key, sizeof key, "%s/office-JKT-01.key", b.o.pki);
    if (lg_tls_ctx(ca, crt, key, &g->ssl, why, sizeof why) != 0) {
        fprintf(stderr, "loadgen: TLS: %s\n", why);
        return 1;
    }
    if (uv_ip4_addr(b.o.host, b.o.port, &g->addr) != 0) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        return 2;
    }
    g->servername = "localhost"; /* deploy/pki.sh names the server localhost and 127.0.0.1 */
    g->ramp = b.o.ramp;
    if (lg_enroll_init(&g->enroll, "JKT-01", b.o.face_bytes) != 0) {
        fprintf(stderr, "loadgen: cannot build the synthetic enrollment\n");
        return 1;
    }
    uv_loop_init(&b.loop);
    g->loop = &b.loop;
    uv_timer_init(&b.loop, &b.tick);
    b.tick.data = &b;
    uv_timer_start(&b.tick, on_tick, 100, 100);
    b.rss_kib = b.rss_peak_kib = -1;
    if (b.o.pid > 0 && rss_kib(b.o.pid) < 0)
        printf("warning: cannot read /proc/%d/status; server RSS will read unknown\n", b.o.pid);

    if (b.o.hold > 0)
        hold_phase(&b);
    if (b.o.stream > 0)
        stream_phase(&b);
    fflush(stdout);

    uv_close((uv_handle_t *)&b.tick, NULL);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    if (g->h2cb != NULL)
        nghttp2_session_callbacks_del(g->h2cb);
    SSL_CTX_free(g->ssl);
    lg_enroll_close(&g->enroll);
    sidik_free(g->lat_us);
    return 0;
}

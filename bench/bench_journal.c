/*
 * bench_journal: durable appends per second through the journal with group
 * commit, on both backends.
 *
 * CONNS threads stand in for upload streams: each appends one enrollment
 * (AVG bytes on average, 0.5x to 1.5x, the size of a packed ten-print
 * enrollment with its face and signature references) and waits until it
 * is durable before the next, as sidikd does before sending a receipt.
 * Prints durable enrollments/s, MB/s, entries per group (fdatasync) and
 * the append-to-durable latency; never passes or fails.
 *
 * Usage: bench_journal [DIR [SECONDS [CONNS [AVG]]]]
 *   defaults ./var/bench-journal 5 64 25000. DIR is emptied first; put it
 *   on the disk the journal will live on (tmpfs makes syncs free).
 */
#include "sidik/common.h"
#include "sidik/journal.h"

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct run {
    sidik_journal *j;
    double until;
    size_t avg;
    _Atomic uint64_t done;
    _Atomic uint64_t lat_us; /* summed append-to-durable latency */
} run;

static void *conn(void *arg)
{
    run *r = arg;
    uint8_t *buf = sidik_xmalloc(r->avg * 3 / 2 + 1);
    memset(buf, 0x5a, r->avg * 3 / 2 + 1);
    uint64_t rng = (uint64_t)(uintptr_t)&buf;
    while (now() < r->until) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = r->avg / 2 + (size_t)((rng >> 33) % (r->avg + 1));
        double t0 = now();
        uint64_t seq;
        int rc = sidik_journal_append(r->j, 1, buf, n, &seq);
        if (rc == SIDIK_EBUSY)
            continue;
        if (rc != 0 || sidik_journal_wait(r->j, seq) != 0) {
            fprintf(stderr, "bench_journal: %s\n", sidik_strerror(rc));
            exit(1);
        }
        atomic_fetch_add(&r->done, 1);
        atomic_fetch_add(&r->lat_us, (uint64_t)((now() - t0) * 1e6));
    }
    sidik_free(buf);
    return NULL;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "./var/bench-journal";
    double seconds = argc > 2 ? atof(argv[2]) : 5;
    unsigned conns = argc > 3 ? (unsigned)atoi(argv[3]) : 64;
    size_t avg = argc > 4 ? (size_t)atol(argv[4]) : 25000;
    if (seconds <= 0 || conns < 1 || conns > 4096 || avg < 2 || avg > SIDIK_JOURNAL_MAX_ENTRY / 2) {
        fprintf(stderr, "usage: bench_journal [DIR [SECONDS [CONNS [AVG]]]]\n");
        return 2;
    }
    printf("bench_journal: %s, %.0f s per backend, %u connections, %zu-byte average entries\n", dir,
           seconds, conns, avg);
    sidik_journal_backend backends[] = {SIDIK_JOURNAL_URING, SIDIK_JOURNAL_SYNC};
    for (size_t b = 0; b < SIDIK_ARRAY_SIZE(backends); b++) {
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        sidik_journal_options o = {.backend = backends[b]};
        run r = {.avg = avg};
        const char *why = NULL;
        int rc = sidik_journal_open(dir, &o, &r.j, &why);
        if (rc != 0) {
            printf("%s: cannot open (%s%s%s)\n", b == 0 ? "io_uring" : "sync", sidik_err_name(rc),
                   why ? ": " : "", why ? why : "");
            continue;
        }
        pthread_t *th = sidik_xcalloc(conns, sizeof *th);
        double t0 = now();
        r.until = t0 + seconds;
        for (unsigned i = 0; i < conns; i++)
            pthread_create(&th[i], NULL, conn, &r);
        for (unsigned i = 0; i < conns; i++)
            pthread_join(th[i], NULL);
        double dt = now() - t0;
        sidik_journal_stats st;
        sidik_journal_get_stats(r.j, &st);
        uint64_t done = atomic_load(&r.done);
        printf("%-8s durable %.0f enrollments/s, %.1f MB/s, %.1f entries per fdatasync "
               "(%.0f syncs/s), mean append-to-durable %.2f ms\n",
               st.backend, done / dt, st.bytes / dt / 1e6,
               st.groups ? (double)st.entries / st.groups : 0, st.groups / dt,
               done ? atomic_load(&r.lat_us) / 1e3 / done : 0);
        sidik_journal_close(r.j);
        sidik_free(th);
    }
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/*
 * bench_store: the gallery on disk. Loads PERSONS synthetic persons (ten
 * fingers each, handed to the shards as ISO records, which store them
 * packed) across SHARDS shards in batches, then measures a cold start:
 * opening every shard, computing every person's search signature from its
 * templates (sidik_shard_each) and inserting it into a fresh search engine,
 * with sidikd's SIMD level and cohort (each insert scans the cohort for the
 * person's offsets, as sidikd's load does), the shards walked on THREADS
 * threads as sidikd walks them on its pool. sidikd also looks each person
 * up in the control store's directory, which this leaves out.
 *
 * Prints bytes on disk per person (LMDB pages in use, and the files'
 * allocated blocks), the load rate (the shard writes alone, and with the
 * synthetic generation that precedes them), and the cold start; the page cache is dropped first where the kernel allows it (root
 * outside a container), otherwise the start is warm and says so. The
 * journal's durable rate is bench_journal's. Never passes or fails.
 *
 * Usage: bench_store [--capacity FILE] [PERSONS [SHARDS [DIR [THREADS]]]]
 *   defaults 100000 8 ./var/bench-store 2. DIR is emptied first; PERSONS 0
 *   keeps the shards already in DIR and measures the starts alone (DIR is
 *   removed at the end unless BENCH_STORE_KEEP is set, or PERSONS is 0).
 */
#include "bench_pool.h"
#include "capacity_doc.h"
#include "sidik/common.h"
#include "sidik/search.h"
#include "sidik/shard.h"
#include "synth.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEED  20261122u
#define BLOCK 256 /* persons generated per task, stored as one batch per shard */

static sidik_synth_params params;

typedef struct load {
    sidik_shard **shards;
    uint32_t nshards;
    uint64_t persons;
    _Atomic uint64_t put_ns, failed;
} load;

typedef struct held {
    uint8_t tmpl[SIDIK_SHARD_TEMPLATE_MAX];
} held;

static void load_task(void *arg, uint32_t block)
{
    load *l = arg;
    held *h = sidik_xcalloc(BLOCK, sizeof *h);
    sidik_shard_record *r = sidik_xcalloc(BLOCK, sizeof *r);
    sidik_fmr *fmr = sidik_xmalloc(sizeof *fmr);
    uint64_t first = (uint64_t)block * BLOCK;
    uint32_t n = 0;
    for (uint64_t p = first; p < l->persons && p < first + BLOCK; p++, n++) {
        size_t len = 0;
        sidik_synth_impression(&params, SEED, p, 0, fmr, NULL, NULL);
        sidik_fmr_encode_iso2005(fmr, h[n].tmpl, sizeof h[n].tmpl, &len);
        r[n] = (sidik_shard_record){p + 1, h[n].tmpl, len};
    }
    /* One batch per shard: the records whose id falls to it. */
    sidik_shard_record *batch = sidik_xcalloc(BLOCK, sizeof *batch);
    for (uint32_t s = 0; s < l->nshards; s++) {
        uint32_t m = 0;
        for (uint32_t i = 0; i < n; i++)
            if (r[i].id % l->nshards == s)
                batch[m++] = r[i];
        double t0 = bench_now();
        if (m > 0 && sidik_shard_put(l->shards[s], batch, m, NULL) != 0)
            atomic_fetch_add(&l->failed, m);
        atomic_fetch_add(&l->put_ns, (uint64_t)((bench_now() - t0) * 1e9));
    }
    sidik_free(batch);
    sidik_free(fmr);
    sidik_free(r);
    sidik_free(h);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void shard_dir(char *out, size_t n, const char *dir, uint32_t s)
{
    snprintf(out, n, "%s/shard-%04u", dir, s);
}

static uint64_t file_blocks(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%.512s/data.mdb", dir);
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* One shard's walk into the gallery, LOAD_BATCH persons a call, as sidikd
 * loads (sidik_gallery_insert_many). */
#define LOAD_BATCH 64
typedef struct loader {
    sidik_gallery *g;
    size_t n;
    uint64_t id[LOAD_BATCH];
    sidik_person_sig sig[LOAD_BATCH];
} loader;

static int load_flush(loader *l)
{
    int rc = sidik_gallery_insert_many(l->g, l->id, l->sig, l->n, NULL);
    l->n = 0;
    return rc;
}

static int insert_into(void *ctx, uint64_t id, const sidik_person_sig *sig)
{
    loader *l = ctx;
    l->id[l->n] = id;
    l->sig[l->n++] = *sig;
    return l->n == LOAD_BATCH ? load_flush(l) : 0;
}

/* A gallery as sidikd's: the best SIMD level (or $SIDIK_SIMD) and sidikd's
 * cohort, whose offsets every insert computes. */
static int searchable_gallery(uint32_t partitions, uint32_t ncohort, sidik_gallery **out)
{
    sidik_simd_level level;
    const char *why;
    sidik_synth_params p;
    sidik_person_sig *c;
    sidik_synth_params_default(&p);
    int rc = sidik_simd_choose_from_env(&level, &why);
    if (rc == 0)
        rc = sidik_gallery_create(partitions, level, out);
    if (rc == 0 && ncohort > 0 &&
        (rc = sidik_synth_cohort(&p, SIDIK_SYNTH_COHORT_SEED, ncohort, &c)) == 0) {
        rc = sidik_gallery_set_cohort(*out, c, ncohort);
        sidik_free(c);
        if (rc != 0)
            sidik_gallery_destroy(*out);
    }
    if (rc != 0)
        fprintf(stderr, "bench_store: search gallery: %s\n", sidik_strerror(rc));
    return rc;
}

/* A start: every shard opened, then walked as COLD_PARTS id ranges a
 * shard, one task each, as sidik_shardset_each walks them for sidikd. */
#define COLD_PARTS 8
typedef struct cold {
    sidik_gallery *g;
    sidik_shard **shards;
    uint64_t (*span)[2];
    _Atomic int failed;
} cold;

static void cold_task(void *arg, uint32_t i)
{
    cold *c = arg;
    const uint32_t s = i / COLD_PARTS;
    uint64_t lo, hi;
    if (!sidik_shard_slice(c->span[s][0], c->span[s][1], i % COLD_PARTS, COLD_PARTS, &lo, &hi))
        return;
    loader *l = sidik_xcalloc(1, sizeof *l);
    l->g = c->g;
    if (sidik_shard_each_range(c->shards[s], lo, hi, insert_into, l) != 0 || load_flush(l) != 0)
        atomic_store(&c->failed, 1);
    sidik_free(l);
}

/* CPU seconds this process has used, user and system. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Opens the shards of dir, walks them into g on the pool, closes them.
 * *cpu: the CPU seconds it took. */
static int start(pool *pl, const char *dir, uint32_t nshards, sidik_gallery *g, double *cpu)
{
    const double cpu0 = cpu_seconds();
    cold c = {.g = g,
              .shards = sidik_xcalloc(nshards, sizeof *c.shards),
              .span = sidik_xcalloc(nshards, sizeof *c.span)};
    for (uint32_t s = 0; s < nshards; s++) {
        char d[512];
        shard_dir(d, sizeof d, dir, s);
        if (sidik_shard_open(d, s, NULL, &c.shards[s], NULL) != 0 ||
            sidik_shard_span(c.shards[s], &c.span[s][0], &c.span[s][1]) != 0)
            atomic_store(&c.failed, 1);
    }
    if (!atomic_load(&c.failed))
        pool_run(pl, nshards * COLD_PARTS, cold_task, &c);
    for (uint32_t s = 0; s < nshards; s++)
        sidik_shard_close(c.shards[s]);
    sidik_free(c.shards);
    sidik_free(c.span);
    *cpu = cpu_seconds() - cpu0;
    return atomic_load(&c.failed) ? -1 : 0;
}

static int drop_caches(void)
{
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0)
        return -1;
    int ok = write(fd, "3\n", 2) == 2;
    close(fd);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    char cmdline[512];
    const char *capacity;
    capacity_args(&argc, &argv, "bench_store", cmdline, sizeof cmdline, &capacity);
    uint64_t persons = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    uint32_t nshards = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 8;
    const char *dir = argc > 3 ? argv[3] : "./var/bench-store";
    unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 2;
    if (nshards < 1 || nshards > 1024 || threads < 1 || (persons == 0 && capacity != NULL)) {
        fprintf(stderr, "usage: bench_store [--capacity FILE] [PERSONS [SHARDS [DIR [THREADS]]]]\n");
        return 2;
    }
    sidik_synth_params_default(&params);
    if (persons > 0) {
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        mkdir(dir, 0750);
    }
    printf("bench_store: %llu persons, %u shards in %s, %u threads\n",
           (unsigned long long)persons, nshards, dir, threads);

    load l = {.nshards = nshards, .persons = persons};
    l.shards = sidik_xcalloc(nshards, sizeof *l.shards);
    for (uint32_t s = 0; s < nshards; s++) {
        char d[512];
        shard_dir(d, sizeof d, dir, s);
        const char *why;
        int rc = sidik_shard_open(d, s, NULL, &l.shards[s], &why);
        if (rc != 0) {
            fprintf(stderr, "bench_store: %s: %s\n", d, why ? why : sidik_strerror(rc));
            return 1;
        }
    }
    pool pl = {threads};
    double t0 = bench_now();
    pool_run(&pl, (uint32_t)((persons + BLOCK - 1) / BLOCK), load_task, &l);
    double tl = bench_now() - t0;
    double put_s = (double)atomic_load(&l.put_ns) * 1e-9 / threads;
    uint64_t records = 0, pages = 0, blocks = 0;
    for (uint32_t s = 0; s < nshards; s++) {
        uint64_t r, b;
        sidik_shard_stats(l.shards[s], &r, &b);
        records += r;
        pages += b;
        sidik_shard_close(l.shards[s]);
        char d[512];
        shard_dir(d, sizeof d, dir, s);
        blocks += file_blocks(d);
    }
    sidik_free(l.shards);
    if (persons > 0)
        printf("load: %llu stored, %llu failed; %.0f persons/s with generation, "
               "%.0f persons/s for the shard writes alone\n",
               (unsigned long long)records, (unsigned long long)atomic_load(&l.failed),
               persons / tl, persons / put_s);
    double pp_pages = (double)pages / records, pp_blocks = (double)blocks / records;
    printf("disk: %.0f bytes per person in LMDB pages, %.0f in file blocks\n", pp_pages, pp_blocks);

    int dropped = drop_caches() == 0;
    sidik_gallery *g;
    if (searchable_gallery(threads * 4, SIDIK_SYNTH_COHORT_PERSONS, &g) != 0)
        return 1;
    t0 = bench_now();
    double cpu;
    int failed = start(&pl, dir, nshards, g, &cpu);
    double tc = bench_now() - t0;
    printf("cold start (%s page cache): %.2f s to open %u shards and make %llu persons searchable "
           "(%.0f persons/s; %.1f s of CPU, %.0f%% of %u threads)%s\n",
           dropped ? "dropped" : "warm", tc, nshards, (unsigned long long)sidik_gallery_size(g),
           records / tc, cpu, 100 * cpu / (tc * threads), threads, failed ? "; FAILED" : "");
    sidik_gallery_destroy(g);
    /* Again with the files now in the page cache: the engine's own cost;
     * and once more without a cohort, for what its offsets cost. */
    double tw[2], cw[2];
    for (int without = 0; without < 2; without++) {
        if (searchable_gallery(threads * 4, without ? 0 : SIDIK_SYNTH_COHORT_PERSONS, &g) != 0)
            return 1;
        t0 = bench_now();
        start(&pl, dir, nshards, g, &cw[without]);
        tw[without] = bench_now() - t0;
        sidik_gallery_destroy(g);
    }
    printf("warm start: %.2f s (%.0f persons/s; %.1f s of CPU); without the cohort %.2f s (%.1f s "
           "of CPU)\n",
           tw[0], records / tw[0], cw[0], tw[1], cw[1]);

    int rc = 0;
    if (capacity != NULL) {
        char *body;
        size_t len;
        FILE *f = open_memstream(&body, &len);
        double nation = 250e6, tib = 1024.0 * 1024 * 1024 * 1024;
        fprintf(f, "\n## Storage: disk and map sizes\n\nGenerated by `%s` (%llu persons in %u "
                   "shards, %s page cache at the cold start).\n\n",
                cmdline, (unsigned long long)records, nshards, dropped ? "dropped" : "warm");
        fprintf(f, "| measured | value |\n|---|---|\n");
        fprintf(f, "| gallery bytes on disk per person (packed templates, LMDB pages) | %.0f |\n",
                pp_pages);
        fprintf(f, "| shard writes, persons per second on %u threads | %.0f |\n", threads,
                persons / put_s);
        fprintf(f, "| cold start to searchable, persons per second | %.0f |\n\n", records / tc);
        fprintf(f, "| at 250,000,000 persons | value |\n|---|---|\n");
        fprintf(f, "| gallery on disk | %.2f TiB |\n", pp_pages * nation / tib);
        fprintf(f, "| map size per shard with 256 shards, 50%% headroom | %.0f GiB |\n",
                pp_pages * nation / 256 * 1.5 / (1024.0 * 1024 * 1024));
        fprintf(f, "| cold start on one node at the measured rate | %.0f s |\n\n", nation / (records / tc));
        fclose(f);
        rc = capacity_doc_update(capacity, "bench_store", body);
        free(body);
        if (rc == 0)
            printf("capacity: wrote %s\n", capacity);
    }
    if (persons > 0 && getenv("BENCH_STORE_KEEP") == NULL)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc == 0 ? 0 : 1;
}

/*
 * bench_dedup: ten-print deduplication against a synthetic population.
 *
 *  1. Fusion learned on a held-out population (another seed): per-finger
 *     full-match scores of genuine pairs (impressions 0 and 1 of one finger)
 *     and impostor pairs (the same position of different persons).
 *  2. Decision thresholds from target FPIRs for the gallery size:
 *     DUPLICATE at FPIR 0.1%, REVIEW from FPIR 1% up to it.
 *  3. A gallery of PERSONS persons (impression 0), signatures built on all
 *     threads.
 *  4. PROBES probes, 2% of them re-enrollments of gallery persons (a later
 *     impression; 10% with two fingers swapped, 10% with fingers missing),
 *     the rest new persons; searched in batches. The shortlist's full
 *     records come back through the fetch callback, which decodes the
 *     ISO/IEC 19794-2 bytes each gallery person was stored as (in RAM,
 *     standing in for the shards: the decode is the product's cost, the
 *     LMDB read from page cache is not modelled).
 * Reports FNIR (re-enrollments not flagged DUPLICATE with the right
 * person), FPIR (new persons flagged DUPLICATE), the review rate, the
 * scan's own miss rate (re-enrollments whose person is not in the
 * shortlist), probes per second, resident bytes per person, and the
 * stages' costs. Prints figures; never passes or fails.
 *
 * The gallery has sidikd's cohort (sidik_gallery_set_cohort; COHORT
 * persons, default sidikd's 32); --cohort 0 measures the scan without one.
 *
 * Usage: bench_dedup [--capacity FILE] [--cohort COHORT] [PERSONS [PROBES [THREADS [SHORTLIST
 *                    [BATCH]]]]]
 *   defaults 32, 100000 10000 2 64 32.
 */
#include "sidik/common.h"
#include "sidik/fusion.h"
#include "sidik/matcher.h"
#include "sidik/search.h"
#include "bench_pool.h"
#include "capacity_doc.h"
#include "synth.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEED       20261122u
#define CALIB_SEED 7u

/* ---- the population ------------------------------------------------------ */

static sidik_synth_params params;
static sidik_simd_level level; /* SIDIK_SIMD or the best this CPU has */

typedef struct probe_spec {
    uint64_t person;
    uint32_t impression;
    int reenroll;
    sidik_synth_alter alter;
} probe_spec;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The gallery's records as stored: person p's ISO 2005 bytes. */
typedef struct stored_records {
    uint8_t **bytes;
    uint32_t *len;
    uint64_t n;
} stored_records;

static int fetch(void *ctx, uint64_t id, sidik_fmr *out)
{
    const stored_records *st = ctx;
    if (id >= st->n || st->bytes[id] == NULL)
        return SIDIK_ENOTFOUND;
    const char *why;
    return sidik_fmr_decode(st->bytes[id], st->len[id], out, &why);
}

/* Keeps r as id's ISO 2005 bytes; returns 0, or the encoder's error. */
static int store_record(stored_records *st, uint64_t id, const sidik_fmr *r)
{
    enum { RECORD_CAP = 16 * 1024 }; /* 24 + 10 x (4 + 255 x 6 + 2) = 15,384 at most */
    uint8_t buf[RECORD_CAP];
    size_t len;
    int rc = sidik_fmr_encode_iso2005(r, buf, sizeof buf, &len);
    if (rc != 0)
        return rc;
    st->bytes[id] = sidik_xmalloc(len);
    memcpy(st->bytes[id], buf, len);
    st->len[id] = (uint32_t)len;
    return 0;
}

static stored_records records_create(uint64_t n)
{
    return (stored_records){sidik_xcalloc(n, sizeof(uint8_t *)), sidik_xcalloc(n, sizeof(uint32_t)),
                            n};
}

static void records_destroy(stored_records *st)
{
    for (uint64_t i = 0; i < st->n; i++)
        sidik_free(st->bytes[i]);
    sidik_free(st->bytes);
    sidik_free(st->len);
}

/* ---- 1. fusion ---------------------------------------------------------- */

#define CALIB_PERSONS 200
#define CALIB_OFFSETS 8 /* impostor partners per finger */

typedef struct calib {
    sidik_finger *f[CALIB_PERSONS][2][SIDIK_SIG_FINGERS];
    uint32_t gen[CALIB_PERSONS * SIDIK_SIG_FINGERS];
    uint32_t imp[CALIB_PERSONS * SIDIK_SIG_FINGERS * CALIB_OFFSETS];
} calib;

static void calib_prepare(void *arg, uint32_t i)
{
    calib *c = arg;
    sidik_fmr *r = sidik_xmalloc(sizeof *r);
    for (uint32_t imp = 0; imp < 2; imp++) {
        sidik_synth_impression(&params, CALIB_SEED, i, imp, r, NULL, NULL);
        for (uint32_t v = 0; v < r->nviews; v++)
            sidik_finger_create(&r->views[v], &c->f[i][imp][r->views[v].position - 1]);
    }
    sidik_free(r);
}

static void calib_score(void *arg, uint32_t i)
{
    calib *c = arg;
    sidik_matcher *m;
    sidik_matcher_create(level, &m);
    for (int f = 0; f < SIDIK_SIG_FINGERS; f++) {
        c->gen[i * SIDIK_SIG_FINGERS + f] = sidik_match_score(m, c->f[i][0][f], c->f[i][1][f]);
        for (int d = 0; d < CALIB_OFFSETS; d++)
            c->imp[(i * SIDIK_SIG_FINGERS + f) * CALIB_OFFSETS + d] =
                sidik_match_score(m, c->f[i][0][f], c->f[(i + 1 + d) % CALIB_PERSONS][1][f]);
    }
    sidik_matcher_destroy(m);
}

static sidik_fusion *learn_fusion(pool *pl)
{
    calib *c = sidik_xcalloc(1, sizeof *c);
    pool_run(pl, CALIB_PERSONS, calib_prepare, c);
    pool_run(pl, CALIB_PERSONS, calib_score, c);
    sidik_fusion *fu;
    int rc = sidik_fusion_create(c->gen, CALIB_PERSONS * SIDIK_SIG_FINGERS, c->imp,
                                 CALIB_PERSONS * SIDIK_SIG_FINGERS * CALIB_OFFSETS, &fu);
    for (int i = 0; i < CALIB_PERSONS; i++)
        for (int k = 0; k < 2; k++)
            for (int f = 0; f < SIDIK_SIG_FINGERS; f++)
                sidik_finger_destroy(c->f[i][k][f]);
    sidik_free(c);
    if (rc != 0) {
        fprintf(stderr, "fusion: %s\n", sidik_strerror(rc));
        exit(1);
    }
    return fu;
}

/* ---- 3. the gallery ----------------------------------------------------- */

typedef struct build_job {
    sidik_gallery *g;
    stored_records *st;
    uint64_t from, to; /* persons [from, to) */
} build_job;

static void build_task(void *arg, uint32_t block)
{
    build_job *b = arg;
    sidik_fmr *r = sidik_xmalloc(sizeof *r);
    sidik_person_sig sig;
    uint64_t first = b->from + (uint64_t)block * 1000;
    for (uint64_t p = first; p < b->to && p < first + 1000; p++) {
        sidik_synth_impression(&params, SEED, p, 0, r, NULL, NULL);
        if (sidik_sig_person(r, &sig, NULL) == 0 && store_record(b->st, p, r) == 0)
            sidik_gallery_insert(b->g, p, &sig);
    }
    sidik_free(r);
}

/* ---- 4. probes ------------------------------------------------------------ */

typedef struct probe_job {
    const probe_spec *spec;
    stored_records *captured; /* each probe's record as its office sent it */
    sidik_probe **probes;
} probe_job;

static void capture_task(void *arg, uint32_t i)
{
    probe_job *j = arg;
    sidik_fmr *r = sidik_xmalloc(sizeof *r);
    const probe_spec *s = &j->spec[i];
    sidik_synth_impression(&params, SEED, s->person, s->impression, r,
                           s->reenroll ? &s->alter : NULL, NULL);
    store_record(j->captured, i, r);
    sidik_free(r);
}

/* What the server does with an upload: decode, then prepare. */
static void probe_task(void *arg, uint32_t i)
{
    probe_job *j = arg;
    sidik_fmr *r = sidik_xmalloc(sizeof *r);
    if (fetch(j->captured, i, r) != 0 || sidik_probe_create(r, &j->probes[i], NULL) != 0)
        j->probes[i] = NULL;
    sidik_free(r);
}

/* ---- 5. searching -------------------------------------------------------- */

#define RANK_STEPS 12 /* mates outside the scan's top 1, 2, 4, .. 2048 */

typedef struct tally {
    uint32_t missed, sl_missed, false_dup, reviews, failed;
    uint32_t outside[RANK_STEPS]; /* re-enrollments whose mate ranks past 2^k */
    uint64_t matched;
} tally;

/* Searches probes [0, n) in batches; returns the wall time. */
static double search_all(const sidik_gallery *g, const sidik_search_config *cfg,
                         const sidik_pool *sp, sidik_probe **probes, const probe_spec *spec,
                         uint32_t n, uint32_t batch, sidik_search_result *res, tally *t,
                         int print_misses)
{
    double t0 = bench_now();
    for (uint32_t b = 0; b < n; b += batch) {
        uint32_t m = n - b < batch ? n - b : batch;
        if (sidik_search(g, cfg, sp, probes + b, m, res) != 0)
            exit(1);
        for (uint32_t i = 0; i < m; i++) {
            const probe_spec *s = &spec[b + i];
            const sidik_search_result *r = &res[i];
            t->matched += r->fingers_matched;
            if (r->status != 0) {
                t->failed++;
                continue;
            }
            t->reviews += r->decision == SIDIK_DECISION_REVIEW;
            if (!s->reenroll) {
                t->false_dup += r->decision == SIDIK_DECISION_DUPLICATE;
                continue;
            }
            int in_sl = 0, found = 0;
            uint32_t rank = UINT32_MAX;
            for (uint32_t j = 0; j < cfg->shortlist; j++)
                if (cfg->shortlist_ids[(size_t)i * cfg->shortlist + j] == s->person) {
                    in_sl = 1;
                    rank = j;
                }
            for (int k = 0; k < RANK_STEPS; k++)
                t->outside[k] += rank >= (1u << k);
            for (uint32_t j = 0; j < r->ncandidates; j++)
                found |= r->candidate[j].id == s->person;
            t->sl_missed += !in_sl;
            if (!in_sl && print_misses) /* which captures the scan loses, for tuning */
                printf("scan missed: person %llu, impression %u, swap %u-%u, missing 0x%03x\n",
                       (unsigned long long)s->person, s->impression, s->alter.swap_a,
                       s->alter.swap_b, s->alter.missing);
            t->missed += !(found && r->decision == SIDIK_DECISION_DUPLICATE);
        }
    }
    return bench_now() - t0;
}

/* ---- 6. capacity ---------------------------------------------------------- */

#define NATION_PERSONS 250000000.0
#define DAILY_ENROLLMENTS 3000000.0
#define WORKING_HOURS 10.0 /* offices capture in the day; the queue may not lag into the night */

/* The gallery is searched as it grows, at 1/4, 2/4, 3/4 and all of its
 * size, and the cost line fitted to the four: from two sizes, the same code
 * gave a fixed part of 43 core-ms one day and below zero another. */
#define FIT_SIZES 4

typedef struct cost_model {
    double per_probe;  /* core-seconds per probe, fixed part (probe prep excluded) */
    double per_person; /* core-seconds per probe per enrolled person */
    bool clamped;      /* the fit's fixed part came out below 0 and is taken as 0 */
    uint64_t at[FIT_SIZES];
    double core_s[FIT_SIZES]; /* measured core-seconds per probe at each size */
} cost_model;

/* Least squares over the sizes. A slope below 0 would be noise at sizes
 * too small to show the scan; a fixed part below 0, the line's noise where
 * the scan dominates: either is taken as 0, and the doc says so. */
static void fit_cost(cost_model *cm)
{
    double mn = 0, mc = 0, snn = 0, snc = 0;
    for (int s = 0; s < FIT_SIZES; s++) {
        mn += (double)cm->at[s] / FIT_SIZES;
        mc += cm->core_s[s] / FIT_SIZES;
    }
    for (int s = 0; s < FIT_SIZES; s++) {
        double dn = (double)cm->at[s] - mn;
        snn += dn * dn;
        snc += dn * (cm->core_s[s] - mc);
    }
    cm->per_person = snn > 0 && snc > 0 ? snc / snn : 0;
    cm->per_probe = mc - cm->per_person * mn;
    cm->clamped = cm->per_probe < 0;
    if (cm->clamped)
        cm->per_probe = 0;
}

static void cpu_name(char *out, size_t n)
{
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(out, n, "%s", colon + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    }
    fclose(f);
}

/* docs/capacity.md's search section, every figure from this run. */
static int write_capacity(const char *path, const char *cmdline, uint64_t persons,
                          unsigned threads, double bytes_per_person, double probes_per_s,
                          const cost_model *cm, double prep_core_s)
{
    char *body;
    size_t len;
    FILE *f = open_memstream(&body, &len);
    char cpu[128];
    cpu_name(cpu, sizeof cpu);
    double core_s = cm->per_probe + cm->per_person * NATION_PERSONS + prep_core_s;
    double rate_day = DAILY_ENROLLMENTS / 86400, rate_work = DAILY_ENROLLMENTS / (WORKING_HOURS * 3600);
    double ram = bytes_per_person * NATION_PERSONS;
    fprintf(f, "\n## Search: cores and RAM\n\n");
    fprintf(f, "Generated by `%s`.\n"
               "Measured on %u threads of an %s with a synthetic population (docs/synthetic.md).\n\n",
            cmdline, threads, cpu);
    fprintf(f, "| measured | value |\n|---|---|\n");
    fprintf(f, "| gallery size | %llu persons |\n", (unsigned long long)persons);
    fprintf(f, "| probes per second at that size | %.1f on %u threads |\n", probes_per_s, threads);
    for (int s = 0; s < FIT_SIZES; s++)
        fprintf(f, "| search cost per probe at %llu persons | %.1f core-ms |\n",
                (unsigned long long)cm->at[s], cm->core_s[s] * 1e3);
    fprintf(f, "| fitted: fixed part per probe (shortlist full matches) | %.2f core-ms%s |\n",
            cm->per_probe * 1e3, cm->clamped ? " (the fit gave less than 0: noise, taken as 0)" : "");
    fprintf(f, "| fitted: cost per probe per enrolled person (the scan) | %.3f core-us |\n",
            cm->per_person * 1e6);
    fprintf(f, "| probe preparation (decoding, signature and finger preparation) | %.2f core-ms |\n",
            prep_core_s * 1e3);
    fprintf(f, "| resident bytes per person, searchable form | %.0f |\n\n", bytes_per_person);
    fprintf(f, "The cost is taken as linear in the gallery size (fixed part + slope x persons), "
               "fitted by least squares to the %d sizes above.\n\n", FIT_SIZES);
    fprintf(f, "| extrapolated to %.0f persons | value |\n|---|---|\n", NATION_PERSONS);
    fprintf(f, "| core-seconds per probe | %.0f |\n", core_s);
    fprintf(f, "| cores, %.0f a day spread over 24 h (%.1f probes/s) | %.0f |\n", DAILY_ENROLLMENTS,
            rate_day, ceil(core_s * rate_day));
    fprintf(f, "| cores, the same captured in a %.0f-hour working day (%.1f probes/s) | %.0f |\n",
            WORKING_HOURS, rate_work, ceil(core_s * rate_work));
    fprintf(f, "| RAM for the searchable gallery | %.0f GiB |\n\n", ram / (1024.0 * 1024 * 1024));
    fprintf(f, "Reading: every probe meets every enrolled person in the scan, so the cores grow "
               "with persons x probes; the gallery's RAM may be split over as many nodes as the "
               "cores need, each scanning its own shards. The full templates the shortlist needs "
               "are read from the shards on disk, not held in RAM.\n\n");
    fclose(f);
    int rc = capacity_doc_update(path, "bench_dedup", body);
    free(body);
    return rc;
}

/* sidikd's cohort seed, persons 0..n-1. */
static int set_cohort(sidik_gallery *g, uint32_t n)
{
    sidik_person_sig *c;
    int rc = sidik_synth_cohort(&params, SIDIK_SYNTH_COHORT_SEED, n, &c);
    if (rc == 0) {
        rc = sidik_gallery_set_cohort(g, c, n);
        sidik_free(c);
    }
    if (rc != 0)
        fprintf(stderr, "bench_dedup: cohort: %s\n", sidik_strerror(rc));
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_dedup [--capacity FILE] [--cohort N] [PERSONS [PROBES [THREADS "
                    "[SHORTLIST [BATCH]]]]]\n");
}

int main(int argc, char **argv)
{
    char cmdline[512];
    const char *capacity;
    capacity_args(&argc, &argv, "bench_dedup", cmdline, sizeof cmdline, &capacity);
    uint32_t ncohort = SIDIK_SYNTH_COHORT_PERSONS;
    if (argc > 2 && strcmp(argv[1], "--cohort") == 0) {
        ncohort = (uint32_t)strtoul(argv[2], NULL, 10);
        argv[2] = argv[0];
        argc -= 2;
        argv += 2;
    }
    uint64_t persons = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    uint32_t nprobes = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10000;
    unsigned threads = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2;
    uint32_t shortlist = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 64;
    uint32_t batch = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 10) : 32;
    if (persons < 4 || nprobes < 1 || threads < 1 || batch < 1 || batch > SIDIK_SEARCH_MAX_BATCH ||
        ncohort > SIDIK_GALLERY_MAX_COHORT ||
        (argc > 1 && argv[1][0] == '-')) {
        usage();
        return 2;
    }
    sidik_synth_params_default(&params);
    pool pl = {threads};
    sidik_pool sp = {pool_run, &pl};
    const char *why;
    if (sidik_simd_choose_from_env(&level, &why) != 0) {
        fprintf(stderr, "bench_dedup: %s\n", why);
        return 2;
    }
    printf("bench_dedup: %llu persons, %u probes (2%% re-enrollments), %u threads, shortlist %u, "
           "batch %u, cohort %u, SIMD %s\n",
           (unsigned long long)persons, nprobes, threads, shortlist, batch, ncohort,
           sidik_simd_level_name(level));

    double t0 = bench_now();
    sidik_fusion *fu = learn_fusion(&pl);
    double dup, review;
    sidik_fusion_threshold(fu, SIDIK_SIG_FINGERS, persons, 1e-3, &dup);
    sidik_fusion_threshold(fu, SIDIK_SIG_FINGERS, persons, 1e-2, &review);
    printf("fusion (held-out seed, %d persons): %.1f s; thresholds for %llu persons: "
           "DUPLICATE llr >= %.2f (FPIR 0.1%%), REVIEW >= %.2f (FPIR 1%%)\n",
           CALIB_PERSONS, bench_now() - t0, (unsigned long long)persons, dup, review);

    probe_spec *spec = sidik_xcalloc(nprobes, sizeof *spec);
    uint32_t nre = 0;
    for (uint32_t i = 0; i < nprobes; i++) {
        uint64_t h = mix(SEED ^ ((uint64_t)i << 20));
        if (h % 50 == 0) { /* 2% */
            spec[i].reenroll = 1;
            spec[i].person = mix(h) % persons;
            spec[i].impression = 1 + nre % 7;
            unsigned kind = (unsigned)(mix(h + 1) % 10);
            if (kind == 0) {
                spec[i].alter.swap_a = (uint8_t)(1 + mix(h + 2) % 10);
                spec[i].alter.swap_b = (uint8_t)(1 + (spec[i].alter.swap_a % 10));
            } else if (kind == 1) {
                spec[i].alter.missing = (uint16_t)(1u << (mix(h + 3) % 10));
            }
            nre++;
        } else {
            spec[i].person = persons + i;
        }
    }
    sidik_probe **probes = sidik_xcalloc(nprobes, sizeof *probes);
    stored_records captured = records_create(nprobes);
    probe_job pj = {spec, &captured, probes};
    pool_run(&pl, nprobes, capture_task, &pj);
    t0 = bench_now();
    pool_run(&pl, nprobes, probe_task, &pj);
    double tp = bench_now() - t0;
    printf("probes: decoded and prepared in %.1f s (%.2f ms each per thread)\n", tp,
           tp * threads * 1e3 / nprobes);

    sidik_search_result *res = sidik_xcalloc(batch, sizeof *res);
    uint64_t *sl = sidik_xcalloc((size_t)batch * shortlist, sizeof *sl);
    stored_records st = records_create(persons);
    sidik_search_config cfg = {.fusion = fu, .fetch = fetch, .fetch_ctx = &st,
                               .shortlist = shortlist,
                               .duplicate_fpir = 1e-3, .review_fpir = 1e-2, .reject_llr = -6.0,
                               .level = level, .shortlist_ids = sl};

    /* The gallery built in quarters: each smaller size is searched by a
     * subset of the probes (timing only; their re-enrollments of persons not
     * yet in have no mate), which with the full run gives the cost line. */
    sidik_gallery *g;
    if (sidik_gallery_create(threads * 4, level, &g) != 0)
        return 1;
    if (ncohort > 0 && set_cohort(g, ncohort) != 0)
        return 1;
    cost_model cm = {0};
    uint32_t nsub = nprobes / 5 > batch ? nprobes / 5 : (batch < nprobes ? batch : nprobes);
    double tb = 0;
    for (int s = 0; s < FIT_SIZES; s++) {
        uint64_t from = s ? cm.at[s - 1] : 0, to = persons * (uint64_t)(s + 1) / FIT_SIZES;
        cm.at[s] = to;
        t0 = bench_now();
        build_job bj = {g, &st, from, to};
        pool_run(&pl, (uint32_t)((to - from + 999) / 1000), build_task, &bj);
        tb += bench_now() - t0;
        if (s == FIT_SIZES - 1)
            break;
        tally th = {0};
        double tsub = search_all(g, &cfg, &sp, probes, spec, nsub, batch, res, &th, 0);
        cm.core_s[s] = tsub * threads / nsub;
        printf("search at %llu persons: %.1f probes/s (%u probes)\n", (unsigned long long)to,
               nsub / tsub, nsub);
    }
    double bytes_pp = (double)sidik_gallery_bytes(g) / (double)persons;
    printf("gallery: %llu persons in %.1f s (%.0f persons/s), %.0f resident bytes per person\n",
           (unsigned long long)sidik_gallery_size(g), tb, (double)persons / tb, bytes_pp);

    tally t = {0};
    double ts = search_all(g, &cfg, &sp, probes, spec, nprobes, batch, res, &t, 1);
    uint32_t nuniq = nprobes - nre;
    printf("search at %llu persons: %.1f s, %.1f probes/s on %u threads; %.1f full finger "
           "matches per probe\n",
           (unsigned long long)persons, ts, nprobes / ts, threads, (double)t.matched / nprobes);
    printf("accuracy: re-enrollments %u, FNIR %.3f%% (%u missed), scan miss %.3f%% (%u); "
           "unique %u, FPIR %.3f%% (%u); review rate %.3f%% (%u); failed %u\n",
           nre, nre ? 100.0 * t.missed / nre : 0, t.missed, nre ? 100.0 * t.sl_missed / nre : 0,
           t.sl_missed, nuniq, nuniq ? 100.0 * t.false_dup / nuniq : 0, t.false_dup,
           100.0 * t.reviews / nprobes, t.reviews, t.failed);
    /* The scan's miss rate at smaller shortlists, from the same ranks: what a
     * gallery shortlist/2^k times as large would lose at this shortlist. */
    printf("scan: re-enrollments whose mate ranks outside the top");
    for (int k = 0; k < RANK_STEPS && (1u << k) <= shortlist; k++)
        printf(" %u: %u%s", 1u << k, t.outside[k], (2u << k) <= shortlist ? "," : "");
    printf("\n");

    cm.core_s[FIT_SIZES - 1] = ts * threads / nprobes;
    fit_cost(&cm);
    printf("cost: %.2f core-ms per probe%s + %.3f core-us per probe per person; "
           "%.0f core-s per probe at %.0f persons\n",
           cm.per_probe * 1e3, cm.clamped ? " (the fit gave less than 0, taken as 0)" : "",
           cm.per_person * 1e6,
           cm.per_probe + cm.per_person * NATION_PERSONS + tp * threads / nprobes, NATION_PERSONS);
    int rc = 0;
    if (capacity != NULL) {
        rc = write_capacity(capacity, cmdline, persons, threads, bytes_pp, nprobes / ts, &cm,
                            tp * threads / nprobes);
        if (rc == 0)
            printf("capacity: wrote %s\n", capacity);
    }

    for (uint32_t i = 0; i < nprobes; i++)
        sidik_probe_destroy(probes[i]);
    sidik_free(probes);
    sidik_free(spec);
    sidik_free(res);
    sidik_free(sl);
    records_destroy(&st);
    records_destroy(&captured);
    sidik_gallery_destroy(g);
    sidik_fusion_destroy(fu);
    return rc == 0 ? 0 : 1;
}

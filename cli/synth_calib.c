/*
 * `sidik gen --calibrate`: the matcher's score distributions and error rates
 * on synthetic single-finger pairs beside the same on real templates
 * (FVC2002), so the generator can be held to "not easier than real".
 *
 * Synthetic set, shaped like FVC2002 (which took index and middle fingers
 * of both hands, 8 impressions each): persons x fingers 2, 3, 7, 8 x
 * impressions 0..7.
 *   genuine:  every pair of impressions of one finger (28 per finger);
 *   impostor: impressions 0 and 1 of every finger against impressions 0
 *             and 1 of every other finger: different persons, and
 *             different fingers of one person (a tenth of a percent of the
 *             pairs at 100 persons, as in a gallery).
 * Real set, by FVC's protocol, as `sidik eval` draws it: per DB, every pair
 * of impressions of one finger (genuine) and every pair of different
 * fingers (the extended impostors); the DBs pooled, since a deployed
 * matcher has one threshold.
 *
 * Single-threaded: the default run is about 330,000 comparisons, a few
 * seconds; a second thread would compete with whatever else the machine
 * does for a tool run once per tuning step.
 */
#define SIDIK_SYNTH_INTERNAL
#include "synth.h"

#include "fvc_metrics.h"
#include "sidik/common.h"
#include "sidik/matcher.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const int calib_fingers[] = {2, 3, 7, 8};
#define NFING       4
#define IMPRESSIONS 8

/* A set of scores and the templates' statistics. */
struct scores {
    uint32_t *gen, *imp;
    size_t ngen, nimp, capgen, capimp;
    size_t templates, minutiae, endings, typed;
    unsigned min_count, max_count;
    sidik_fvc_rates rates;
};

static int push(uint32_t **v, size_t *n, size_t *cap, uint32_t s)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4096;
        uint32_t *p = sidik_tryrealloc(*v, nc * sizeof *p);
        if (p == NULL)
            return SIDIK_ENOMEM;
        *v = p;
        *cap = nc;
    }
    (*v)[(*n)++] = s;
    return 0;
}

static void count_template(struct scores *s, const sidik_template *t)
{
    if (s->templates == 0 || t->count < s->min_count)
        s->min_count = t->count;
    if (s->templates == 0 || t->count > s->max_count)
        s->max_count = t->count;
    s->templates++;
    s->minutiae += t->count;
    for (unsigned i = 0; i < t->count; i++) {
        s->endings += t->m[i].type == SIDIK_MINUTIA_ENDING;
        s->typed += t->m[i].type != SIDIK_MINUTIA_OTHER;
    }
}

static void scores_free(struct scores *s)
{
    sidik_free(s->gen);
    sidik_free(s->imp);
}

static void destroy_fingers(sidik_finger **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (f[i] != NULL)
            sidik_finger_destroy(f[i]);
    sidik_free(f);
}

static int synthetic(const sidik_synth_params *p, uint64_t seed, uint32_t persons, sidik_matcher *m,
                     struct scores *s, FILE *err)
{
    size_t nf = (size_t)persons * NFING, n = nf * IMPRESSIONS;
    sidik_finger **f = sidik_trycalloc(n, sizeof *f);
    sidik_template *t = sidik_trymalloc(sizeof *t);
    sidik_synth_master_finger *master = sidik_trymalloc(sizeof *master);
    int rc = f == NULL || t == NULL || master == NULL ? SIDIK_ENOMEM : 0;
    /* Template k = (finger index k / IMPRESSIONS, impression k % IMPRESSIONS). */
    for (size_t fi = 0; fi < nf && rc == 0; fi++) {
        rc = sidik__synth_master_points(p, seed, fi / NFING, calib_fingers[fi % NFING], master);
        for (uint32_t i = 0; i < IMPRESSIONS && rc == 0; i++) {
            if ((rc = sidik_synth_capture(p, seed, master, i, t, NULL)) == 0)
                rc = sidik_finger_create(t, &f[fi * IMPRESSIONS + i]);
            if (rc == 0)
                count_template(s, t);
        }
    }
    for (size_t fi = 0; fi < nf && rc == 0; fi++)
        for (size_t i = 0; i < IMPRESSIONS && rc == 0; i++)
            for (size_t j = i + 1; j < IMPRESSIONS && rc == 0; j++)
                rc = push(&s->gen, &s->ngen, &s->capgen,
                          sidik_match_score(m, f[fi * IMPRESSIONS + i], f[fi * IMPRESSIONS + j]));
    for (size_t a = 0; a < 2 * nf && rc == 0; a++) {
        size_t fa = a / 2;
        for (size_t b = a + 1; b < 2 * nf && rc == 0; b++) {
            size_t fb = b / 2;
            if (fa == fb)
                continue;
            rc = push(
                &s->imp, &s->nimp, &s->capimp,
                sidik_match_score(m, f[fa * IMPRESSIONS + a % 2], f[fb * IMPRESSIONS + b % 2]));
        }
    }
    if (rc != 0)
        fprintf(err, "sidik gen: synthetic set: %s\n", sidik_strerror(rc));
    destroy_fingers(f, f != NULL ? n : 0);
    sidik_free(t);
    sidik_free(master);
    return rc;
}

/* ---- the real set ---------------------------------------------------------- */

struct real_tmpl {
    int db;
    unsigned finger;
    sidik_finger *f;
};

struct real {
    struct real_tmpl *t;
    size_t n, cap;
    int ndb;
};

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (hidden ones skipped), in *names. */
static int list(const char *dir, char ***names, size_t *n, FILE *err)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        int rc = -errno;
        fprintf(err, "sidik gen: %s: %s\n", dir, strerror(errno));
        return rc;
    }
    size_t cap = 0;
    int rc = 0;
    *names = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && rc == 0) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            char **v = sidik_tryrealloc(*names, nc * sizeof *v);
            if (v == NULL) {
                rc = SIDIK_ENOMEM;
                break;
            }
            *names = v;
            cap = nc;
        }
        if (((*names)[*n] = sidik_trystrdup(e->d_name)) == NULL)
            rc = SIDIK_ENOMEM;
        else
            (*n)++;
    }
    closedir(d);
    if (rc == 0 && *n > 1)
        qsort(*names, *n, sizeof **names, cmp_str);
    if (rc != 0)
        fprintf(err, "sidik gen: %s: %s\n", dir, sidik_strerror(rc));
    return rc;
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sidik_free(v[i]);
    sidik_free(v);
}

static int load_file(const char *path, unsigned finger, int db, sidik_fmr *fmr, struct real *r,
                     FILE *err)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        int rc = -errno;
        fprintf(err, "sidik gen: %s: %s\n", path, strerror(errno));
        return rc;
    }
    static const size_t max = 1 << 16; /* FVC records are a few hundred bytes */
    uint8_t *buf = sidik_trymalloc(max);
    size_t len = buf != NULL ? fread(buf, 1, max, fp) : 0;
    fclose(fp);
    const char *why = NULL;
    int rc = buf == NULL ? SIDIK_ENOMEM : sidik_fmr_decode(buf, len, fmr, &why);
    sidik_free(buf);
    if (rc == 0 && fmr->nviews == 0)
        rc = SIDIK_EFORMAT, why = "no finger view";
    if (rc == 0 && r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 128;
        struct real_tmpl *v = sidik_tryrealloc(r->t, nc * sizeof *v);
        if (v == NULL)
            rc = SIDIK_ENOMEM;
        else
            r->t = v, r->cap = nc;
    }
    if (rc == 0) {
        struct real_tmpl *t = &r->t[r->n];
        t->db = db;
        t->finger = finger;
        if ((rc = sidik_finger_create(&fmr->views[0], &t->f)) == 0)
            r->n++;
    }
    if (rc != 0)
        fprintf(err, "sidik gen: %s: %s\n", path, why != NULL ? why : sidik_strerror(rc));
    return rc;
}

/* One DB folder: FINGER_IMPRESSION.iso files; other names are skipped. */
/* dir/name in a fresh allocation (the caller's to sidik_free), or NULL. */
static char *path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = sidik_trymalloc(len);
    if (p != NULL)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static int load_db(const char *dir, int db, sidik_fmr *fmr, struct real *r, struct scores *s,
                   FILE *err)
{
    char **names = NULL;
    size_t n = 0;
    int rc = list(dir, &names, &n, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned finger, imp;
        char tail[8];
        if (sscanf(names[i], "%u_%u%7s", &finger, &imp, tail) != 3 || strcmp(tail, ".iso") != 0)
            continue;
        char *path = path_join(dir, names[i]);
        if (path == NULL) {
            rc = SIDIK_ENOMEM;
            break;
        }
        rc = load_file(path, finger, db, fmr, r, err);
        if (rc == 0)
            count_template(s, &fmr->views[0]);
        sidik_free(path);
    }
    names_free(names, n);
    return rc;
}

static int load_real(const char *path, struct real *r, struct scores *s, FILE *err)
{
    if (!is_dir(path)) {
        fprintf(err,
                "sidik gen: %s: not a folder of FVC DB folders (give PATH, or set "
                "SIDIK_FVC_DATA)\n",
                path);
        return SIDIK_ENOTFOUND;
    }
    sidik_fmr *fmr = sidik_trymalloc(sizeof *fmr);
    if (fmr == NULL)
        return SIDIK_ENOMEM;
    char **names = NULL;
    size_t n = 0;
    int rc = list(path, &names, &n, err), subdirs = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *sub = path_join(path, names[i]);
        if (sub == NULL) {
            rc = SIDIK_ENOMEM;
            break;
        }
        if (is_dir(sub))
            rc = load_db(sub, subdirs++, fmr, r, s, err);
        sidik_free(sub);
    }
    if (rc == 0 && subdirs == 0) /* PATH is one DB */
        rc = load_db(path, subdirs++, fmr, r, s, err);
    r->ndb = subdirs;
    names_free(names, n);
    sidik_free(fmr);
    if (rc == 0 && r->n < 2) {
        fprintf(err, "sidik gen: %s: no FVC templates (FINGER_IMPRESSION.iso) found\n", path);
        rc = SIDIK_ENOTFOUND;
    }
    return rc;
}

static int score_real(struct real *r, sidik_matcher *m, struct scores *s)
{
    int rc = 0;
    for (size_t a = 0; a < r->n && rc == 0; a++)
        for (size_t b = a + 1; b < r->n && rc == 0; b++) {
            if (r->t[a].db != r->t[b].db)
                continue;
            uint32_t sc = sidik_match_score(m, r->t[a].f, r->t[b].f);
            rc = r->t[a].finger == r->t[b].finger ? push(&s->gen, &s->ngen, &s->capgen, sc)
                                                  : push(&s->imp, &s->nimp, &s->capimp, sc);
        }
    return rc;
}

/* ---- the report ------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted v (nearest rank). */
static uint32_t quantile(const uint32_t *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n);
    return v[k >= n ? n - 1 : k];
}

static double share_in(const uint32_t *v, size_t n, uint32_t lo, uint32_t hi)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += v[i] >= lo && v[i] < hi;
    return 100.0 * (double)c / (double)n;
}

static void report(const struct scores *sy, const struct scores *re, uint64_t seed,
                   uint32_t persons, const char *path, FILE *out)
{
    fprintf(out,
            "sidik gen --calibrate: matcher scores on synthetic single-finger pairs (seed %llu, "
            "%u persons x fingers 2,3,7,8 x %d impressions)\n"
            "and on %s (FVC protocol: genuine and extended impostors, DBs pooled)\n\n",
            (unsigned long long)seed, persons, IMPRESSIONS, path);
    fprintf(out, "%-26s %14s %14s\n", "", "synthetic", "real");
    fprintf(out, "%-26s %14zu %14zu\n", "templates", sy->templates, re->templates);
    fprintf(out, "%-26s %14zu %14zu\n", "genuine pairs", sy->ngen, re->ngen);
    fprintf(out, "%-26s %14zu %14zu\n", "impostor pairs", sy->nimp, re->nimp);
    fprintf(out, "%-26s %14.1f %14.1f\n", "minutiae per template",
            (double)sy->minutiae / (double)sy->templates,
            (double)re->minutiae / (double)re->templates);
    char a[32], b[32];
    snprintf(a, sizeof a, "%u..%u", sy->min_count, sy->max_count);
    snprintf(b, sizeof b, "%u..%u", re->min_count, re->max_count);
    fprintf(out, "%-26s %14s %14s\n", "  range", a, b);
    fprintf(out, "%-26s %13.1f%% %13.1f%%\n", "ridge endings",
            sy->typed ? 100.0 * (double)sy->endings / (double)sy->typed : 0,
            re->typed ? 100.0 * (double)re->endings / (double)re->typed : 0);

    fprintf(out, "\nscore quantiles (0..10000)    genuine               impostor\n");
    fprintf(out, "%-12s %12s %10s %12s %10s\n", "quantile", "synthetic", "real", "synthetic",
            "real");
    static const double qs[] = {0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999};
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(qs); k++)
        fprintf(out, "%-12.3g %12u %10u %12u %10u\n", 100 * qs[k],
                quantile(sy->gen, sy->ngen, qs[k]), quantile(re->gen, re->ngen, qs[k]),
                quantile(sy->imp, sy->nimp, qs[k]), quantile(re->imp, re->nimp, qs[k]));

    /* Fine bins where impostor and genuine scores meet, coarse above. */
    static const uint32_t edges[] = {0,    500,  750,  1000, 1250, 1500, 2000,
                                     2500, 3000, 4000, 5000, 6000, 10001};
    fprintf(out, "\nscore histogram, %% of each set\n");
    fprintf(out, "%-12s %12s %10s %12s %10s\n", "scores", "synthetic", "real", "synthetic", "real");
    for (size_t k = 0; k + 1 < SIDIK_ARRAY_SIZE(edges); k++) {
        uint32_t lo = edges[k], hi = edges[k + 1];
        char range[32];
        if (hi > 10000)
            snprintf(range, sizeof range, "%u+", lo);
        else
            snprintf(range, sizeof range, "%u-%u", lo, hi - 1);
        fprintf(out, "%-12s %11.2f%% %9.2f%% %11.2f%% %9.2f%%\n", range,
                share_in(sy->gen, sy->ngen, lo, hi), share_in(re->gen, re->ngen, lo, hi),
                share_in(sy->imp, sy->nimp, lo, hi), share_in(re->imp, re->nimp, lo, hi));
    }

    fprintf(out, "\n%-26s %14s %14s\n", "rates", "synthetic", "real");
    fprintf(out, "%-26s %13.2f%% %13.2f%%\n", "EER", 100 * sy->rates.eer, 100 * re->rates.eer);
    fprintf(out, "%-26s %13.2f%% %13.2f%%\n", "FMR100 (FNMR at FMR 1%)", 100 * sy->rates.fmr100,
            100 * re->rates.fmr100);
    fprintf(out, "%-26s %13.2f%% %13.2f%%\n", "FMR1000 (at FMR 0.1%)", 100 * sy->rates.fmr1000,
            100 * re->rates.fmr1000);
    fprintf(out, "%-26s %13.2f%% %13.2f%%\n", "ZeroFMR", 100 * sy->rates.zerofmr,
            100 * re->rates.zerofmr);
    int ok = sy->rates.eer >= re->rates.eer;
    fprintf(out, "\nsynthetic EER %.2f%% %s real EER %.2f%%: synthetic is %s\n",
            100 * sy->rates.eer, ok ? ">=" : "<", 100 * re->rates.eer,
            ok ? "not easier than real (calibrated)" : "EASIER than real (not calibrated)");
}

int sidik_synth_calibrate(const sidik_synth_params *p, uint64_t seed, uint32_t persons,
                          const char *real_path, sidik_simd_level level, FILE *out, FILE *err)
{
    if (p == NULL || real_path == NULL || out == NULL || err == NULL || persons == 0)
        return SIDIK_EINVAL;
    struct scores sy = {0}, re = {0};
    struct real r = {0};
    sidik_matcher *m = NULL;
    int rc = sidik_matcher_create(level, &m);
    if (rc != 0)
        fprintf(err, "sidik gen: matcher at SIMD level %s: %s\n", sidik_simd_level_name(level),
                sidik_strerror(rc));
    /* The real set first: a wrong PATH is reported before any scoring. */
    if (rc == 0)
        rc = load_real(real_path, &r, &re, err);
    if (rc == 0 && (rc = score_real(&r, m, &re)) != 0)
        fprintf(err, "sidik gen: %s\n", sidik_strerror(rc));
    if (rc == 0)
        rc = synthetic(p, seed, persons, m, &sy, err);
    if (rc == 0 && (re.ngen == 0 || re.nimp == 0)) {
        fprintf(err, "sidik gen: %s: needs two impressions of a finger and two fingers per DB\n",
                real_path);
        rc = SIDIK_EINVAL;
    }
    if (rc == 0 && ((rc = sidik_fvc_compute(sy.gen, sy.ngen, sy.imp, sy.nimp, &sy.rates)) != 0 ||
                    (rc = sidik_fvc_compute(re.gen, re.ngen, re.imp, re.nimp, &re.rates)) != 0))
        fprintf(err, "sidik gen: computing rates: %s\n", sidik_strerror(rc));
    if (rc == 0) {
        qsort(sy.gen, sy.ngen, sizeof *sy.gen, cmp_u32);
        qsort(sy.imp, sy.nimp, sizeof *sy.imp, cmp_u32);
        qsort(re.gen, re.ngen, sizeof *re.gen, cmp_u32);
        qsort(re.imp, re.nimp, sizeof *re.imp, cmp_u32);
        report(&sy, &re, seed, persons, real_path, out);
    }
    for (size_t i = 0; i < r.n; i++)
        sidik_finger_destroy(r.t[i].f);
    sidik_free(r.t);
    scores_free(&sy);
    scores_free(&re);
    if (m != NULL)
        sidik_matcher_destroy(m);
    return rc;
}

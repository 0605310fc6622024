/*
 * `sidik gen`: a synthetic population as ISO/IEC 19794-2:2005 records plus
 * its ground truth, and `sidik gen --calibrate`, the check that synthetic
 * pairs are no easier for the matcher than real ones (synth.h,
 * docs/synthetic.md).
 *
 * Writing: the records are made in batches; each batch is cut into one
 * contiguous range per thread, each thread encodes its range into its own
 * buffer, and the main thread writes the buffers in order, so the files
 * are the same whatever the thread count. Both files are written under
 * temporary names in DIR and renamed into place only when complete, so an
 * interrupted or failed run never leaves a truncated records.iso that looks
 * finished.
 */
#include "cli.h"
#include "synth.h"

#include "sidik/common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#ifndef SIDIK_SOURCE_DIR
#define SIDIK_SOURCE_DIR "."
#endif

#define MAX_IMPRESSIONS   100
#define MAX_THREADS       64
#define MAX_CALIB_PERSONS 1000
#define DEFAULT_SEED      1
#define DEFAULT_RATE      0.01
#define DEFAULT_THREADS   2
#define DEFAULT_CALIB     100

/* Records per batch: about half a second of work on two threads, under
 * 20 MB of buffers per thread, and one progress step. */
#define BATCH 8192

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr; passes the exit code through. */
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("sidik gen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static const char usage_line[] =
    "usage: sidik gen --persons N --out DIR [--seed S] [--impressions K] [--reenroll-rate R]\n"
    "                 [--threads T] [--force]\n"
    "       sidik gen --calibrate [--persons N] [--seed S] [--simd LEVEL] [PATH]\n";

static void help(void)
{
    fputs(usage_line, stdout);
    fputs("\n"
          "Writes a synthetic population of ten-finger minutiae records, deterministic\n"
          "from the seed (the same arguments give the same bytes, whatever --threads),\n"
          "or with --calibrate compares the matcher's scores on synthetic and real\n"
          "fingers. The model (pattern classes, orientation fields, minutiae, captures\n"
          "with distortion, noise, missing and spurious minutiae, quality tiers) is\n"
          "described in docs/synthetic.md.\n"
          "\n"
          "Population: N persons are enrolled in order (person ids 0..N-1, impression 0);\n"
          "floor(N x R) re-enrollments of already enrolled persons are planted among\n"
          "them, evenly spread: re-enrollment j re-captures a person enrolled before it\n"
          "as impression j+1; 10% of them have two fingers' positions swapped, 10% one or\n"
          "two fingers missing. Each planned enrollment is written as K consecutive\n"
          "records (impressions i*K .. i*K+K-1 of the planned impression i), so K > 1\n"
          "gives verification sets.\n"
          "\n"
          "Files in DIR (created if missing; existing files are refused unless --force):\n"
          "  records.iso  the records back to back, each an ISO/IEC 19794-2:2005 finger\n"
          "               minutiae record ('FMR\\0', ' 20\\0', then its own 4-byte\n"
          "               big-endian length at offset 8, so the file is self-delimiting):\n"
          "               300 x 400 px at 500 dpi (197 px/cm), one view per finger\n"
          "               present, finger positions 1 (right thumb) .. 10 (left little),\n"
          "               impression type 0, 20..80 minutiae per view\n"
          "  truth.csv    a header line, then one row per record:\n"
          "               record,offset,length,person,impression,kind,swapped,missing\n"
          "               record     index in records.iso, from 0\n"
          "               offset     byte offset of the record in records.iso\n"
          "               length     its length in bytes\n"
          "               person     person id (the same person = the same fingers)\n"
          "               impression capture number of that person\n"
          "               kind       new (first enrollment of the person) or reenroll\n"
          "               swapped    two positions whose fingers were exchanged ('2+7'),\n"
          "                          or empty\n"
          "               missing    positions not captured ('4' or '4+9'), or empty\n"
          "\n"
          "Options:\n"
          "  --persons N        persons to enroll, 1..1000000000 (with --calibrate,\n"
          "                     persons in the synthetic set, 1..1000, default 100)\n"
          "  --out DIR          where to write records.iso and truth.csv\n"
          "  --seed S           0..18446744073709551615 (default 1)\n"
          "  --impressions K    records per planned enrollment, 1..100 (default 1)\n"
          "  --reenroll-rate R  re-enrollments per person, 0..1 (default 0.01)\n"
          "  --threads T        generating threads, 1..64 (default 2)\n"
          "  --force            overwrite records.iso and truth.csv in DIR\n"
          "  --calibrate        score synthetic single-finger pairs (persons x fingers\n"
          "                     2,3,7,8 x 8 impressions; genuine: every pair of one\n"
          "                     finger; impostor: impressions 0-1 of every finger against\n"
          "                     those of every other) and the FVC2002-style folder PATH\n"
          "                     (default $SIDIK_FVC_DATA, else ../shared/data/fvc2002 next\n"
          "                     to the source tree; genuine and extended impostor pairs of\n"
          "                     each DB, pooled) with the matcher, and print both side by\n"
          "                     side: score quantiles and histogram, EER, FMR100, FMR1000,\n"
          "                     ZeroFMR, and whether the synthetic EER is at least the real\n"
          "  --simd LEVEL       with --calibrate: scalar, sse42, avx2 or avx512 (default:\n"
          "                     $SIDIK_SIMD, else the best this CPU has)\n"
          "  -h, --help         this text\n"
          "\n"
          "Progress goes to stderr when it is a terminal; a summary line goes to stderr.\n"
          "\n"
          "Examples:\n"
          "  sidik gen --persons 1000 --out pop          1,000 persons and planted re-enrollments\n"
          "  sidik gen --persons 5 --reenroll-rate 0 --seed 7 --out few\n"
          "  sidik gen --calibrate                        synthetic against FVC2002 score distributions\n"
          "\n"
          "Exit codes: 0 success; 1 the work failed (DIR not creatable or writable,\n"
          "existing files without --force, a write error, PATH not a template folder);\n"
          "2 the command line was wrong.\n",
          stdout);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("sidik gen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage_line, stderr);
    return SIDIK_CLI_EXIT_USAGE;
}

/* A decimal number in [lo, hi]: digits only, no sign, no spaces. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A decimal fraction in [0, 1]: digits with at most one point; no sign,
 * exponent, spaces, NaN or infinity. */
static int parse_rate(const char *s, double *out)
{
    int digits = 0, points = 0;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c >= '0' && *c <= '9')
            digits++;
        else if (*c == '.' && points == 0)
            points++;
        else
            return -1;
    }
    if (digits == 0)
        return -1;
    errno = 0;
    double v = strtod(s, NULL);
    if (errno != 0 || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

struct opts {
    uint64_t persons, seed, impressions, threads;
    double rate;
    const char *out, *path, *simd;
    int force, calibrate, have_persons;
};

/* The value of option a: the next argument, or after '='. */
static const char *value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (a[n] == '=')
        return a + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Returns -1 when the options parsed, else the exit code to leave with. */
static int parse(int argc, char **argv, struct opts *o)
{
    o->seed = DEFAULT_SEED;
    o->impressions = 1;
    o->threads = DEFAULT_THREADS;
    o->rate = DEFAULT_RATE;
    int done = 0, gen_only = 0;
    const char *gen_opt = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define IS(name) (strcmp(a, name) == 0 || (strncmp(a, name "=", sizeof name) == 0))
        if (done || a[0] != '-' || a[1] == '\0') {
            if (o->path != NULL)
                return usage_error("one PATH only, got '%s' and '%s'", o->path, a);
            o->path = a;
        } else if (strcmp(a, "--") == 0) {
            done = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help();
            return SIDIK_CLI_EXIT_OK;
        } else if (strcmp(a, "--force") == 0) {
            o->force = 1, gen_only = 1, gen_opt = "--force";
        } else if (strcmp(a, "--calibrate") == 0) {
            o->calibrate = 1;
        } else if (IS("--persons")) {
            if ((v = value(argc, argv, &i, "--persons")) == NULL)
                return usage_error("--persons needs a number");
            if (parse_u64(v, 1, SIDIK_SYNTH_MAX_PERSONS, &o->persons) != 0)
                return usage_error("--persons: '%s' is not a whole number from 1 to %llu", v,
                                   (unsigned long long)SIDIK_SYNTH_MAX_PERSONS);
            o->have_persons = 1;
        } else if (IS("--seed")) {
            if ((v = value(argc, argv, &i, "--seed")) == NULL)
                return usage_error("--seed needs a number");
            if (parse_u64(v, 0, UINT64_MAX, &o->seed) != 0)
                return usage_error("--seed: '%s' is not a whole number from 0 to %llu", v,
                                   (unsigned long long)UINT64_MAX);
        } else if (IS("--out")) {
            if ((v = value(argc, argv, &i, "--out")) == NULL || *v == '\0')
                return usage_error("--out needs a folder");
            o->out = v, gen_only = 1, gen_opt = "--out";
        } else if (IS("--impressions")) {
            if ((v = value(argc, argv, &i, "--impressions")) == NULL)
                return usage_error("--impressions needs a number");
            if (parse_u64(v, 1, MAX_IMPRESSIONS, &o->impressions) != 0)
                return usage_error("--impressions: '%s' is not a whole number from 1 to %d", v,
                                   MAX_IMPRESSIONS);
            gen_only = 1, gen_opt = "--impressions";
        } else if (IS("--reenroll-rate")) {
            if ((v = value(argc, argv, &i, "--reenroll-rate")) == NULL)
                return usage_error("--reenroll-rate needs a number");
            if (parse_rate(v, &o->rate) != 0)
                return usage_error("--reenroll-rate: '%s' is not a number from 0 to 1", v);
            gen_only = 1, gen_opt = "--reenroll-rate";
        } else if (IS("--threads")) {
            if ((v = value(argc, argv, &i, "--threads")) == NULL)
                return usage_error("--threads needs a number");
            if (parse_u64(v, 1, MAX_THREADS, &o->threads) != 0)
                return usage_error("--threads: '%s' is not a whole number from 1 to %d", v,
                                   MAX_THREADS);
            gen_only = 1, gen_opt = "--threads";
        } else if (IS("--simd")) {
            if ((v = value(argc, argv, &i, "--simd")) == NULL)
                return usage_error("--simd needs a level: scalar, sse42, avx2 or avx512");
            o->simd = v;
        } else {
            return usage_error("unknown option '%s'; 'sidik gen --help' lists them", a);
        }
#undef IS
    }
    if (o->calibrate) {
        if (gen_only)
            return usage_error("%s does not go with --calibrate", gen_opt);
        if (!o->have_persons)
            o->persons = DEFAULT_CALIB;
        else if (o->persons > MAX_CALIB_PERSONS)
            return usage_error("--persons: at most %d with --calibrate", MAX_CALIB_PERSONS);
        return -1;
    }
    if (o->path != NULL)
        return usage_error("unexpected argument '%s' (PATH goes with --calibrate)", o->path);
    if (o->simd != NULL)
        return usage_error("--simd goes with --calibrate only");
    if (!o->have_persons)
        return usage_error("--persons N missing");
    if (o->out == NULL)
        return usage_error("--out DIR missing");
    return -1;
}

/* ---- generation ---------------------------------------------------------- */

/* One ISO 2005 record of ten views holds at most 24 + 10 (4 + 6 max + 2)
 * bytes. */
static size_t max_record(const sidik_synth_params *p)
{
    return 24 + SIDIK_SYNTH_FINGERS * (4 + 6 * (size_t)p->max_count + 2);
}

struct worker {
    const sidik_synth_params *p;
    const sidik_synth_plan *plan;
    uint64_t seed, impressions;
    uint64_t first, count; /* records [first, first + count) */
    uint8_t *buf;          /* their bytes, back to back */
    size_t *len;           /* each record's length */
    sidik_fmr *fmr;
    int rc;
    pthread_t thread;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    size_t at = 0, cap = max_record(w->p);
    w->rc = 0;
    for (uint64_t k = 0; k < w->count && w->rc == 0; k++) {
        uint64_t r = w->first + k;
        sidik_synth_entry e;
        w->rc = sidik_synth_plan_entry(w->plan, r / w->impressions, &e);
        uint32_t imp = (uint32_t)((uint64_t)e.impression * w->impressions + r % w->impressions);
        if (w->rc == 0)
            w->rc = sidik_synth_impression(w->p, w->seed, e.person, imp, w->fmr, &e.alter, NULL);
        if (w->rc == 0)
            w->rc = sidik_fmr_encode_iso2005(w->fmr, w->buf + at, cap, &w->len[k]);
        at += w->len[k];
    }
    return NULL;
}

/* "2+7", "4", or "" for none. */
static void positions(char *out, size_t n, const sidik_synth_entry *e, int swapped)
{
    size_t at = 0;
    out[0] = '\0';
    for (int f = 1; f <= SIDIK_SYNTH_FINGERS; f++) {
        int hit = swapped ? f == e->alter.swap_a || f == e->alter.swap_b
                          : (e->alter.missing >> (f - 1)) & 1;
        if (hit)
            at += (size_t)snprintf(out + at, n - at, "%s%d", at ? "+" : "", f);
    }
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct out {
    char *dir, *rec, *csv, *rec_tmp, *csv_tmp;
    int rec_fd, csv_fd;
};

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = sidik_trymalloc(n);
    if (p != NULL)
        snprintf(p, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return p;
}

static void out_close(struct out *o, int keep)
{
    if (o->rec_fd >= 0)
        close(o->rec_fd);
    if (o->csv_fd >= 0)
        close(o->csv_fd);
    if (!keep) {
        if (o->rec_tmp != NULL && o->rec_fd >= 0)
            unlink(o->rec_tmp);
        if (o->csv_tmp != NULL && o->csv_fd >= 0)
            unlink(o->csv_tmp);
    }
    sidik_free(o->rec);
    sidik_free(o->csv);
    sidik_free(o->rec_tmp);
    sidik_free(o->csv_tmp);
}

/* DIR exists (created if need be), the outputs do not (or --force), the
 * records can fit, and the temporary files are open. Exit code, or -1 on
 * success. */
static int out_open(const struct opts *op, uint64_t need_records, size_t min_record, struct out *o)
{
    o->rec_fd = o->csv_fd = -1;
    struct stat st;
    if (stat(op->out, &st) != 0) {
        if (errno != ENOENT)
            return fail(SIDIK_CLI_EXIT_FAIL, "%s: %s", op->out, strerror(errno));
        if (mkdir(op->out, 0777) != 0)
            return fail(SIDIK_CLI_EXIT_FAIL, "%s: cannot create: %s", op->out, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        return fail(SIDIK_CLI_EXIT_FAIL, "%s: not a folder", op->out);
    }
    o->rec = path_in(op->out, "records.iso");
    o->csv = path_in(op->out, "truth.csv");
    o->rec_tmp = path_in(op->out, ".records.iso.XXXXXX");
    o->csv_tmp = path_in(op->out, ".truth.csv.XXXXXX");
    if (o->rec == NULL || o->csv == NULL || o->rec_tmp == NULL || o->csv_tmp == NULL)
        return fail(SIDIK_CLI_EXIT_FAIL, "out of memory");
    const char *finals[2] = {o->rec, o->csv};
    for (int k = 0; k < 2 && !op->force; k++) {
        if (lstat(finals[k], &st) == 0)
            return fail(SIDIK_CLI_EXIT_FAIL, "%s exists; --force overwrites it", finals[k]);
        if (errno != ENOENT)
            return fail(SIDIK_CLI_EXIT_FAIL, "%s: %s", finals[k], strerror(errno));
    }
    /* Refuse what cannot fit: every record takes at least its header and
     * ten views of min_count minutiae. */
    struct statvfs fs;
    if (statvfs(op->out, &fs) == 0) {
        double need = (double)need_records * (double)min_record;
        double avail = (double)fs.f_bavail * (double)fs.f_frsize;
        if (need > avail)
            return fail(SIDIK_CLI_EXIT_FAIL, "%s: needs at least %.1f GB, %.1f GB free", op->out,
                        need / 1e9, avail / 1e9);
    }
    if ((o->rec_fd = mkostemp(o->rec_tmp, O_CLOEXEC)) < 0 ||
        (o->csv_fd = mkostemp(o->csv_tmp, O_CLOEXEC)) < 0)
        return fail(SIDIK_CLI_EXIT_FAIL, "%s: cannot write: %s", op->out, strerror(errno));
    /* mkostemp makes 0600 files; data files are as readable as the umask
     * allows, like any other output. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(o->rec_fd, 0666 & ~mask);
    fchmod(o->csv_fd, 0666 & ~mask);
    return -1;
}

static int generate(const struct opts *op)
{
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    const char *why = NULL;
    if (sidik_synth_params_check(&p, &why) != 0)
        return fail(SIDIK_CLI_EXIT_FAIL, "internal: default parameters refused: %s", why);
    sidik_synth_plan plan;
    if (sidik_synth_plan_init(&plan, op->seed, op->persons, op->rate) != 0)
        return fail(SIDIK_CLI_EXIT_FAIL, "internal: plan refused");
    /* Impression numbers are 32 bits in the generator: re-enrollment j's
     * records are impressions (j + 1) K .. (j + 1) K + K - 1. */
    if ((plan.reenrolls + 1) * op->impressions > UINT32_MAX)
        return usage_error("--persons x --reenroll-rate x --impressions too large: impression "
                           "numbers would pass 2^32");
    const uint64_t total = sidik_synth_plan_records(&plan) * op->impressions;

    struct out o = {0};
    size_t min_record = 24 + SIDIK_SYNTH_FINGERS * (4 + 6 * (size_t)p.min_count + 2);
    int code = out_open(op, total, min_record, &o);
    if (code >= 0) {
        out_close(&o, 0);
        return code;
    }

    const unsigned nt = (unsigned)op->threads;
    const uint64_t per = (BATCH + nt - 1) / nt;
    struct worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    int rc = 0;
    for (unsigned t = 0; t < nt && rc == 0; t++) {
        w[t].p = &p;
        w[t].plan = &plan;
        w[t].seed = op->seed;
        w[t].impressions = op->impressions;
        w[t].buf = sidik_trymalloc(per * max_record(&p));
        w[t].len = sidik_trymalloc(per * sizeof *w[t].len);
        w[t].fmr = sidik_trymalloc(sizeof *w[t].fmr);
        if (w[t].buf == NULL || w[t].len == NULL || w[t].fmr == NULL)
            rc = SIDIK_ENOMEM;
    }
    size_t csv_cap = per * nt * 96 + 128;
    char *csv = rc == 0 ? sidik_trymalloc(csv_cap) : NULL;
    if (rc == 0 && csv == NULL)
        rc = SIDIK_ENOMEM;
    if (rc != 0)
        fail(0, "out of memory for %u threads' buffers", nt);

    const int tty = isatty(STDERR_FILENO);
    const double t0 = now_s();
    uint64_t offset = 0;
    size_t at = 0;
    if (rc == 0) {
        at = (size_t)snprintf(csv, csv_cap,
                              "record,offset,length,person,impression,kind,swapped,missing\n");
        rc = write_all(o.csv_fd, csv, at);
        if (rc != 0)
            fail(0, "%s: %s", o.csv_tmp, strerror(-rc));
    }
    for (uint64_t first = 0; first < total && rc == 0; first += BATCH) {
        uint64_t n = total - first < BATCH ? total - first : BATCH;
        unsigned used = 0;
        for (unsigned t = 0; t < nt; t++) {
            uint64_t lo = first + t * per, hi = lo + per;
            if (lo >= first + n)
                break;
            w[t].first = lo;
            w[t].count = (hi < first + n ? hi : first + n) - lo;
            used++;
        }
        /* Thread 0's range runs on this thread. */
        unsigned started = 1;
        for (unsigned t = 1; t < used; t++, started++)
            if (pthread_create(&w[t].thread, NULL, work, &w[t]) != 0)
                break;
        work(&w[0]);
        for (unsigned t = started; t < used; t++)
            work(&w[t]); /* a thread that could not start: do its share here */
        for (unsigned t = 1; t < started; t++)
            pthread_join(w[t].thread, NULL);
        for (unsigned t = 0; t < used && rc == 0; t++)
            if ((rc = w[t].rc) != 0)
                fail(0, "record %llu: %s", (unsigned long long)w[t].first, sidik_strerror(rc));

        for (unsigned t = 0; t < used && rc == 0; t++) {
            size_t bytes = 0;
            at = 0;
            for (uint64_t k = 0; k < w[t].count; k++) {
                uint64_t r = w[t].first + k;
                sidik_synth_entry e;
                sidik_synth_plan_entry(&plan, r / op->impressions, &e);
                uint64_t imp = (uint64_t)e.impression * op->impressions + r % op->impressions;
                char sw[32], ms[32];
                positions(sw, sizeof sw, &e, 1);
                positions(ms, sizeof ms, &e, 0);
                at +=
                    (size_t)snprintf(csv + at, csv_cap - at, "%llu,%llu,%zu,%llu,%llu,%s,%s,%s\n",
                                     (unsigned long long)r, (unsigned long long)offset, w[t].len[k],
                                     (unsigned long long)e.person, (unsigned long long)imp,
                                     e.kind == SIDIK_SYNTH_NEW ? "new" : "reenroll", sw, ms);
                offset += w[t].len[k];
                bytes += w[t].len[k];
            }
            if ((rc = write_all(o.rec_fd, w[t].buf, bytes)) != 0)
                fail(0, "%s: %s", o.rec_tmp, strerror(-rc));
            else if ((rc = write_all(o.csv_fd, csv, at)) != 0)
                fail(0, "%s: %s", o.csv_tmp, strerror(-rc));
        }
        if (tty && rc == 0)
            fprintf(stderr, "\rsidik gen: %llu of %llu records (%.0f%%)",
                    (unsigned long long)(first + n), (unsigned long long)total,
                    100.0 * (double)(first + n) / (double)total);
    }
    if (tty)
        fputc('\n', stderr);
    /* close() reports deferred write errors (NFS, quota) too. */
    if (rc == 0 && close(o.rec_fd) != 0)
        rc = -errno, fail(0, "%s: %s", o.rec_tmp, strerror(errno));
    o.rec_fd = -1;
    if (rc == 0 && close(o.csv_fd) != 0)
        rc = -errno, fail(0, "%s: %s", o.csv_tmp, strerror(errno));
    o.csv_fd = -1;
    if (rc == 0 && (rename(o.rec_tmp, o.rec) != 0 || rename(o.csv_tmp, o.csv) != 0))
        rc = -errno, fail(0, "%s: %s", op->out, strerror(errno));
    if (rc != 0) {
        unlink(o.rec_tmp);
        unlink(o.csv_tmp);
    } else {
        fprintf(stderr,
                "sidik gen: %llu records (%llu persons, %llu re-enrollments, %llu impression%s "
                "each), %llu bytes, in %.2f s on %u thread%s: %s, %s\n",
                (unsigned long long)total, (unsigned long long)op->persons,
                (unsigned long long)plan.reenrolls, (unsigned long long)op->impressions,
                op->impressions == 1 ? "" : "s", (unsigned long long)offset, now_s() - t0, nt,
                nt == 1 ? "" : "s", o.rec, o.csv);
    }
    for (unsigned t = 0; t < nt; t++) {
        sidik_free(w[t].buf);
        sidik_free(w[t].len);
        sidik_free(w[t].fmr);
    }
    sidik_free(csv);
    out_close(&o, 1);
    return rc == 0 ? SIDIK_CLI_EXIT_OK : SIDIK_CLI_EXIT_FAIL;
}

/* ---- calibration ---------------------------------------------------------- */

static const char *default_data(void)
{
    const char *env = getenv("SIDIK_FVC_DATA");
    return env != NULL && *env != '\0' ? env : SIDIK_SOURCE_DIR "/../shared/data/fvc2002";
}

static int calibrate(const struct opts *op)
{
    sidik_simd_level level;
    const char *why = NULL;
    if (op->simd == NULL) {
        if (sidik_simd_choose_from_env(&level, &why) != 0)
            return fail(SIDIK_CLI_EXIT_FAIL, "SIDIK_SIMD refused: %s", why);
    } else {
        sidik_simd_level parsed;
        if (sidik_simd_level_parse(op->simd, &parsed) != 0)
            return usage_error("--simd '%s': must be one of scalar, sse42, avx2, avx512", op->simd);
        sidik_cpu_features f;
        sidik_cpu_detect(&f);
        if (sidik_simd_choose(&f, op->simd, &level, &why) != 0)
            return fail(SIDIK_CLI_EXIT_FAIL, "--simd %s refused: %s", op->simd, why);
    }
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    const char *path = op->path != NULL ? op->path : default_data();
    double t0 = now_s();
    int rc =
        sidik_synth_calibrate(&p, op->seed, (uint32_t)op->persons, path, level, stdout, stderr);
    if (rc != 0)
        return SIDIK_CLI_EXIT_FAIL;
    if (fflush(stdout) != 0 || ferror(stdout))
        return fail(SIDIK_CLI_EXIT_FAIL, "writing the result: %s", strerror(errno));
    fprintf(stderr, "sidik gen: calibration took %.2f s (simd %s)\n", now_s() - t0,
            sidik_simd_level_name(level));
    return SIDIK_CLI_EXIT_OK;
}

int sidik_cmd_gen(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    int code = parse(argc, argv, &o);
    if (code >= 0)
        return code;
    return o.calibrate ? calibrate(&o) : generate(&o);
}

/*
 * `sidik eval [--json] [--simd LEVEL] PATH`: the matcher's accuracy on a
 * folder of templates, by the FVC protocol, plus rank-1 identification.
 *
 * The run has three steps, each finished before the next starts, so a bad
 * folder or file is reported before any time is spent scoring:
 *  1. collect: find the DB folders and parse every file name into (finger,
 *     impression); refuse anything that does not fit, because a skipped or
 *     guessed file would silently change the protocol's attempt counts;
 *  2. decode every file into a sidik_finger (view 0 of the record);
 *  3. score every unordered pair of templates once, across all DBs (rank-1
 *     needs the cross-DB impostors), keep the within-DB scores in a matrix
 *     per DB, and draw the FVC attempt sets from those matrices.
 *
 * It is single-threaded: the FVC2002 B sets are 320 templates, 51,040
 * comparisons, seconds at most at a minutiae matcher's tens of microseconds
 * per comparison; threads would buy little and make the tool harder to
 * trust.
 */
#include "cli.h"
#include "fvc_metrics.h"
#include "out.h"
#include "sidik/common.h"
#include "sidik/matcher.h"
#include "sidik/template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A finger minutiae record is a few hundred bytes; even 20 views with
 * maximal extended data stay near 1.3 MiB. Anything beyond this is not a
 * template, and reading it whole would only waste memory. */
#define EVAL_MAX_FILE (16u << 20)

/* Finger and impression numbers: at most 9 digits, so they fit in 32 bits. */
#define EVAL_MAX_DIGITS 9

struct sample {
    uint32_t finger;
    uint32_t impression;
    char *path; /* for messages */
    sidik_finger *f;
};

struct db {
    char *name;
    struct sample *s; /* sorted by (finger, impression) */
    size_t n;
    uint32_t *score; /* n * n; score[i * n + j] == score[j * n + i], i != j */
    size_t genuine, impostor, impostor_ext;
    sidik_fvc_rates std, ext;
};

/* FMR targets of the pooled threshold table: how a score threshold maps to
 * a false match rate, the figure an operator sets the server's decision by. */
static const double pooled_targets[] = {1e-2, 1e-3, 1e-4};
#define NPOOLED (sizeof pooled_targets / sizeof pooled_targets[0])

struct eval {
    struct db *db; /* sorted by name */
    size_t ndb;
    size_t pooled_gen, pooled_imp; /* genuine and extended impostor scores of all DBs */
    sidik_fvc_point pooled[NPOOLED];
    size_t probes, hits; /* rank-1 */
    uint64_t comparisons;
};

struct names {
    char **v;
    size_t n;
};

static int fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints one error line and passes rc through: every failure is reported
 * where its context (the path) is known, and callers just return. */
static int fail(int rc, const char *fmt, ...)
{
    va_list ap;
    fputs("sidik eval: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return rc;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] == '/';
    char *p = sidik_trymalloc(a + b + 2);
    if (p != NULL)
        snprintf(p, a + b + 2, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

static void names_free(struct names *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        sidik_free(nm->v[i]);
    sidik_free(nm->v);
    nm->v = NULL;
    nm->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir, sorted, without "." and "..": hidden files are not
 * part of a data set by the usual convention (ls, shells' globs), so they
 * are skipped rather than refused. */
static int list_dir(const char *dir, struct names *out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return fail(-errno, "%s: %s", dir, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    out->v = NULL;
    out->n = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                rc = fail(-errno, "%s: %s", dir, strerror(errno));
            break;
        }
        if (e->d_name[0] == '.')
            continue;
        if (out->n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **v = sidik_tryrealloc(out->v, ncap * sizeof *v);
            if (v == NULL) {
                rc = fail(SIDIK_ENOMEM, "%s: out of memory", dir);
                break;
            }
            out->v = v;
            cap = ncap;
        }
        if ((out->v[out->n] = sidik_trystrdup(e->d_name)) == NULL) {
            rc = fail(SIDIK_ENOMEM, "%s: out of memory", dir);
            break;
        }
        out->n++;
    }
    closedir(d);
    if (rc != 0)
        names_free(out);
    else if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return rc;
}

static int ends_with_iso(const char *name)
{
    size_t n = strlen(name);
    return n >= 4 && strcmp(name + n - 4, ".iso") == 0;
}

static int parse_num(const char **pp, uint32_t *out)
{
    const char *p = *pp;
    uint32_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < EVAL_MAX_DIGITS) {
        v = v * 10 + (uint32_t)(*p++ - '0');
        digits++;
    }
    if (digits == 0 || (*p >= '0' && *p <= '9'))
        return SIDIK_EFORMAT;
    *pp = p;
    *out = v;
    return 0;
}

/* FINGER_IMPRESSION.iso, both decimal, nothing else. */
static int parse_name(const char *name, uint32_t *finger, uint32_t *impression)
{
    const char *p = name;
    if (parse_num(&p, finger) != 0 || *p++ != '_' || parse_num(&p, impression) != 0)
        return SIDIK_EFORMAT;
    return strcmp(p, ".iso") == 0 ? 0 : SIDIK_EFORMAT;
}

/* The file type of path, following symbolic links. */
static int file_type(const char *path, mode_t *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(-errno, "%s: %s", path, strerror(errno));
    *out = st.st_mode & S_IFMT;
    return 0;
}

static int cmp_key(const struct sample *x, const struct sample *y)
{
    if (x->finger != y->finger)
        return x->finger < y->finger ? -1 : 1;
    return (x->impression > y->impression) - (x->impression < y->impression);
}

/* By (finger, impression); equal keys (101_1.iso and 101_01.iso) by path,
 * so the duplicate reported does not depend on qsort's whims. */
static int cmp_sample(const void *a, const void *b)
{
    int c = cmp_key(a, b);
    return c != 0 ? c : strcmp(((const struct sample *)a)->path, ((const struct sample *)b)->path);
}

/* Adds the DB in folder dir, whose sorted entries are nm, under name. */
static int add_db(struct eval *ev, const char *name, const char *dir, const struct names *nm)
{
    size_t iso = 0;
    for (size_t i = 0; i < nm->n; i++)
        iso += ends_with_iso(nm->v[i]);
    if (iso == 0)
        return fail(SIDIK_ENOTFOUND, "%s: holds no FINGER_IMPRESSION.iso templates", dir);

    struct db *dbs = sidik_tryrealloc(ev->db, (ev->ndb + 1) * sizeof *dbs);
    if (dbs == NULL)
        return fail(SIDIK_ENOMEM, "out of memory");
    ev->db = dbs;
    struct db *db = &ev->db[ev->ndb];
    memset(db, 0, sizeof *db);
    ev->ndb++; /* counted now so eval_free releases whatever is filled in */
    if ((db->name = sidik_trystrdup(name)) == NULL ||
        (db->s = sidik_trycalloc(nm->n, sizeof *db->s)) == NULL)
        return fail(SIDIK_ENOMEM, "out of memory");

    for (size_t i = 0; i < nm->n; i++) {
        struct sample *s = &db->s[db->n];
        if ((s->path = join(dir, nm->v[i])) == NULL)
            return fail(SIDIK_ENOMEM, "out of memory");
        db->n++;
        mode_t type;
        int rc = file_type(s->path, &type);
        if (rc != 0)
            return rc;
        if (type == S_IFDIR)
            return fail(SIDIK_EFORMAT,
                        "%s: a folder inside a DB folder; PATH must be one folder of "
                        "FINGER_IMPRESSION.iso files or a folder of such folders",
                        s->path);
        /* A FIFO or device would block or never end when read. */
        if (type != S_IFREG)
            return fail(SIDIK_EFORMAT, "%s: not a regular file", s->path);
        if (parse_name(nm->v[i], &s->finger, &s->impression) != 0)
            return fail(SIDIK_EFORMAT,
                        "%s: name does not match FINGER_IMPRESSION.iso (e.g. 101_1.iso); "
                        "refused, since skipping it would change the attempt counts",
                        s->path);
    }
    qsort(db->s, db->n, sizeof *db->s, cmp_sample);

    size_t fingers = 1, genuine = 0, run = 1;
    for (size_t i = 1; i < db->n; i++) {
        if (cmp_key(&db->s[i - 1], &db->s[i]) == 0)
            return fail(SIDIK_EEXISTS, "%s: same finger and impression as %s", db->s[i].path,
                        db->s[i - 1].path);
        if (db->s[i].finger == db->s[i - 1].finger) {
            genuine += run++;
        } else {
            fingers++;
            run = 1;
        }
    }
    if (genuine == 0)
        return fail(SIDIK_EINVAL,
                    "%s: no finger has two impressions, so there are no genuine attempts", dir);
    if (fingers < 2)
        return fail(SIDIK_EINVAL, "%s: only one finger, so there are no impostor attempts", dir);
    return 0;
}

/* The DB's display name when PATH is itself the DB: its folder's name. */
static char *db_name_of(const char *path)
{
    char *real = realpath(path, NULL); /* libc's malloc: freed with free() */
    const char *src = real != NULL ? real : path;
    const char *slash = strrchr(src, '/');
    const char *base = slash != NULL && slash[1] != '\0' ? slash + 1 : src;
    char *name = sidik_trystrdup(base);
    free(real);
    return name;
}

/* PATH is one DB folder (only template files) or a folder of DB folders
 * (only folders, apart from files such as a README that are not named
 * *.iso). Both at once is ambiguous and refused. */
static int collect(struct eval *ev, const char *path)
{
    mode_t type;
    int rc = file_type(path, &type);
    if (rc != 0)
        return rc;
    if (type != S_IFDIR)
        return fail(SIDIK_EINVAL,
                    "%s: not a folder; give a folder of FINGER_IMPRESSION.iso files or a "
                    "folder of such folders",
                    path);
    struct names top;
    if ((rc = list_dir(path, &top)) != 0)
        return rc;

    size_t iso = 0, subdirs = 0;
    unsigned char *sub = sidik_trycalloc(top.n ? top.n : 1, 1);
    if (sub == NULL) {
        names_free(&top);
        return fail(SIDIK_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < top.n && rc == 0; i++) {
        char *p = join(path, top.v[i]);
        if (p == NULL) {
            rc = fail(SIDIK_ENOMEM, "out of memory");
            break;
        }
        if ((rc = file_type(p, &type)) == 0) {
            int d = type == S_IFDIR;
            sub[i] = (unsigned char)d;
            subdirs += d;
            iso += !d && ends_with_iso(top.v[i]);
        }
        sidik_free(p);
    }

    if (rc != 0) {
        /* reported */
    } else if (subdirs == 0) {
        char *name = db_name_of(path);
        rc = name == NULL ? fail(SIDIK_ENOMEM, "out of memory") : add_db(ev, name, path, &top);
        sidik_free(name);
    } else if (iso > 0) {
        rc = fail(SIDIK_EFORMAT,
                  "%s: holds both .iso files and folders; give one DB folder or a folder of "
                  "DB folders",
                  path);
    } else {
        for (size_t i = 0; i < top.n && rc == 0; i++) {
            if (!sub[i])
                continue;
            char *p = join(path, top.v[i]);
            struct names nm = {0};
            if (p == NULL)
                rc = fail(SIDIK_ENOMEM, "out of memory");
            else if ((rc = list_dir(p, &nm)) == 0)
                rc = add_db(ev, top.v[i], p, &nm);
            names_free(&nm);
            sidik_free(p);
        }
    }
    sidik_free(sub);
    names_free(&top);
    return rc;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    /* O_NONBLOCK: should the file have turned into a FIFO since it was
     * listed, opening it must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(-errno, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    uint8_t *buf = NULL;
    size_t got = 0;
    if (fstat(fd, &st) != 0) {
        rc = fail(-errno, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = fail(SIDIK_EFORMAT, "%s: not a regular file", path);
    } else if ((uint64_t)st.st_size > EVAL_MAX_FILE) {
        rc = fail(SIDIK_ETOOBIG, "%s: %lld bytes, larger than any template (limit %u)", path,
                  (long long)st.st_size, EVAL_MAX_FILE);
    } else if ((buf = sidik_trymalloc((size_t)st.st_size + 1)) == NULL) {
        rc = fail(SIDIK_ENOMEM, "%s: out of memory", path);
    } else {
        /* Read what fstat promised; a file that shrank meanwhile is judged
         * on what was there, which the decoder will call truncated. */
        while (got < (size_t)st.st_size) {
            ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = fail(-errno, "%s: %s", path, strerror(errno));
                break;
            }
            if (r == 0)
                break;
            got += (size_t)r;
        }
    }
    close(fd);
    if (rc != 0) {
        sidik_free(buf);
        return rc;
    }
    *out = buf;
    *len = got;
    return 0;
}

static int decode_all(struct eval *ev)
{
    sidik_fmr *fmr = sidik_trymalloc(sizeof *fmr);
    if (fmr == NULL)
        return fail(SIDIK_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t d = 0; d < ev->ndb && rc == 0; d++) {
        for (size_t i = 0; i < ev->db[d].n && rc == 0; i++) {
            struct sample *s = &ev->db[d].s[i];
            uint8_t *buf = NULL;
            size_t len = 0;
            if ((rc = read_file(s->path, &buf, &len)) != 0)
                break;
            const char *why = NULL;
            rc = sidik_fmr_decode(buf, len, fmr, &why);
            sidik_free(buf);
            if (rc != 0) {
                rc = fail(rc, "%s: not a usable finger minutiae record: %s (%s)", s->path,
                          why != NULL ? why : sidik_strerror(rc), sidik_err_name(rc));
            } else if (fmr->nviews == 0) {
                rc = fail(SIDIK_EFORMAT, "%s: record holds no finger view", s->path);
            } else if ((rc = sidik_finger_create(&fmr->views[0], &s->f)) != 0) {
                rc = fail(rc, "%s: %s", s->path, sidik_strerror(rc));
            }
        }
    }
    sidik_free(fmr);
    return rc;
}

/* Scores every unordered pair once, in sorted order (DB by name, then
 * finger, then impression; the earlier template is the first argument),
 * filling the DB matrices and the rank-1 tallies. */
static int score_all(struct eval *ev, sidik_matcher *m)
{
    size_t total = 0;
    for (size_t d = 0; d < ev->ndb; d++) {
        struct db *db = &ev->db[d];
        db->score = sidik_trycalloc(db->n * db->n, sizeof *db->score);
        if (db->score == NULL)
            return fail(SIDIK_ENOMEM, "out of memory for %zu x %zu scores", db->n, db->n);
        total += db->n;
    }
    /* Best genuine and best impostor score seen by each template as probe;
     * -1 = none yet. Flat over all DBs in order. */
    int64_t *best_gen = sidik_trymalloc(total * sizeof *best_gen);
    int64_t *best_imp = sidik_trymalloc(total * sizeof *best_imp);
    if (best_gen == NULL || best_imp == NULL) {
        sidik_free(best_gen);
        sidik_free(best_imp);
        return fail(SIDIK_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < total; k++)
        best_gen[k] = best_imp[k] = -1;

    size_t base_a = 0;
    for (size_t da = 0; da < ev->ndb; da++) {
        struct db *A = &ev->db[da];
        for (size_t a = 0; a < A->n; a++) {
            size_t base_b = base_a;
            for (size_t db_ = da; db_ < ev->ndb; db_++) {
                struct db *B = &ev->db[db_];
                for (size_t b = db_ == da ? a + 1 : 0; b < B->n; b++) {
                    uint32_t s = sidik_match_score(m, A->s[a].f, B->s[b].f);
                    ev->comparisons++;
                    int same = db_ == da && A->s[a].finger == B->s[b].finger;
                    if (db_ == da)
                        A->score[a * A->n + b] = A->score[b * A->n + a] = s;
                    int64_t *best = same ? best_gen : best_imp;
                    if ((int64_t)s > best[base_a + a])
                        best[base_a + a] = s;
                    if ((int64_t)s > best[base_b + b])
                        best[base_b + b] = s;
                }
                base_b += B->n;
            }
        }
        base_a += A->n;
    }

    /* Strict rank-1: a probe is a hit only when its best genuine score beats
     * every impostor score; a tie with an impostor is a miss, because a
     * search that returns a tied candidate list has not identified anyone.
     * Templates with no other impression of their finger cannot be hits and
     * are not probes. */
    for (size_t k = 0; k < total; k++) {
        if (best_gen[k] < 0)
            continue;
        ev->probes++;
        ev->hits += best_gen[k] > best_imp[k];
    }
    sidik_free(best_gen);
    sidik_free(best_imp);
    return 0;
}

/* Draws the three attempt sets from the DB's score matrix and computes
 * their rates. */
static int rates_for_db(struct db *db)
{
    size_t n = db->n;
    uint32_t *gen = sidik_trymalloc(n * n / 2 * sizeof *gen + sizeof *gen);
    uint32_t *imp = sidik_trymalloc(n * n / 2 * sizeof *imp + sizeof *imp);
    uint32_t *ext = sidik_trymalloc(n * n / 2 * sizeof *ext + sizeof *ext);
    int rc = 0;
    if (gen == NULL || imp == NULL || ext == NULL) {
        rc = fail(SIDIK_ENOMEM, "out of memory");
        goto out;
    }
    size_t ng = 0, ni = 0, ne = 0;
    for (size_t a = 0; a < n; a++) {
        /* s[] is sorted by (finger, impression), so a is its finger's first
         * impression exactly when the previous sample is another finger. */
        int a_first = a == 0 || db->s[a - 1].finger != db->s[a].finger;
        for (size_t b = a + 1; b < n; b++) {
            uint32_t s = db->score[a * n + b];
            if (db->s[a].finger == db->s[b].finger) {
                gen[ng++] = s;
                continue;
            }
            ext[ne++] = s;
            if (a_first && db->s[b - 1].finger != db->s[b].finger)
                imp[ni++] = s;
        }
    }
    db->genuine = ng;
    db->impostor = ni;
    db->impostor_ext = ne;
    if ((rc = sidik_fvc_compute(gen, ng, imp, ni, &db->std)) != 0 ||
        (rc = sidik_fvc_compute(gen, ng, ext, ne, &db->ext)) != 0)
        rc = fail(rc, "%s: computing rates: %s", db->name, sidik_strerror(rc));
out:
    sidik_free(gen);
    sidik_free(imp);
    sidik_free(ext);
    return rc;
}

/* Pools the genuine and extended impostor scores of every DB and finds the
 * lowest threshold meeting each FMR target in pooled_targets. */
static int pooled_thresholds(struct eval *ev)
{
    size_t cap = 1;
    for (size_t d = 0; d < ev->ndb; d++)
        cap += ev->db[d].n * ev->db[d].n / 2;
    uint32_t *gen = sidik_trymalloc(cap * sizeof *gen), *imp = sidik_trymalloc(cap * sizeof *imp);
    int rc = 0;
    if (gen == NULL || imp == NULL) {
        rc = fail(SIDIK_ENOMEM, "out of memory");
        goto out;
    }
    size_t ng = 0, ni = 0;
    for (size_t d = 0; d < ev->ndb; d++) {
        const struct db *db = &ev->db[d];
        for (size_t a = 0; a < db->n; a++) {
            for (size_t b = a + 1; b < db->n; b++) {
                uint32_t sc = db->score[a * db->n + b];
                if (db->s[a].finger == db->s[b].finger)
                    gen[ng++] = sc;
                else
                    imp[ni++] = sc;
            }
        }
    }
    ev->pooled_gen = ng;
    ev->pooled_imp = ni;
    for (size_t k = 0; k < NPOOLED && rc == 0; k++) {
        rc = sidik_fvc_threshold_for_fmr(gen, ng, imp, ni, pooled_targets[k], &ev->pooled[k]);
        if (rc != 0)
            rc = fail(rc, "pooled thresholds: %s", sidik_strerror(rc));
    }
out:
    sidik_free(gen);
    sidik_free(imp);
    return rc;
}

static double rank1(const struct eval *ev)
{
    return ev->probes ? (double)ev->hits / (double)ev->probes : 0.0;
}

static void print_json(const struct eval *ev)
{
    fputs("{\"dbs\":[", stdout);
    for (size_t d = 0; d < ev->ndb; d++) {
        const struct db *db = &ev->db[d];
        fputs(d ? ",{\"name\":" : "{\"name\":", stdout);
        sidik_out_json_string(stdout, db->name);
        printf(",\"genuine\":%zu,\"impostor\":%zu,\"impostor_ext\":%zu,"
               "\"eer\":%.6g,\"fmr100\":%.6g,\"fmr1000\":%.6g,\"zerofmr\":%.6g,"
               "\"eer_ext\":%.6g,\"fmr100_ext\":%.6g,\"fmr1000_ext\":%.6g,\"zerofmr_ext\":%.6g}",
               db->genuine, db->impostor, db->impostor_ext, db->std.eer, db->std.fmr100,
               db->std.fmr1000, db->std.zerofmr, db->ext.eer, db->ext.fmr100, db->ext.fmr1000,
               db->ext.zerofmr);
    }
    printf("],\"rank1\":%.6g,\"thresholds\":[", rank1(ev));
    for (size_t k = 0; k < NPOOLED; k++)
        printf("%s{\"target_fmr\":%.6g,\"threshold\":%llu,\"fmr\":%.6g,\"fnmr\":%.6g}",
               k ? "," : "", pooled_targets[k], (unsigned long long)ev->pooled[k].threshold,
               ev->pooled[k].fmr, ev->pooled[k].fnmr);
    printf("]}\n");
}

static void print_table(const struct eval *ev)
{
    int w = 2;
    for (size_t d = 0; d < ev->ndb; d++) {
        size_t len = strlen(ev->db[d].name);
        if (len > (size_t)w)
            w = len > 40 ? 40 : (int)len;
    }
    printf("%-*s  %-9s %8s %9s %8s %8s %8s %8s\n", w, "DB", "impostors", "genuine", "impostor",
           "EER", "FMR100", "FMR1000", "ZeroFMR");
    for (size_t d = 0; d < ev->ndb; d++) {
        const struct db *db = &ev->db[d];
        const struct {
            const char *set;
            size_t n;
            const sidik_fvc_rates *r;
        } rows[2] = {{"standard", db->impostor, &db->std},
                     {"extended", db->impostor_ext, &db->ext}};
        for (int k = 0; k < 2; k++)
            printf("%-*s  %-9s %8zu %9zu %7.2f%% %7.2f%% %7.2f%% %7.2f%%\n", w, db->name,
                   rows[k].set, db->genuine, rows[k].n, 100 * rows[k].r->eer,
                   100 * rows[k].r->fmr100, 100 * rows[k].r->fmr1000, 100 * rows[k].r->zerofmr);
    }
    printf("rank-1 identification: %.2f%% (%zu of %zu probes, %zu DB%s)\n", 100 * rank1(ev),
           ev->hits, ev->probes, ev->ndb, ev->ndb == 1 ? "" : "s");
    printf("score thresholds, extended impostors pooled (%zu genuine, %zu impostor):\n",
           ev->pooled_gen, ev->pooled_imp);
    for (size_t k = 0; k < NPOOLED; k++)
        printf("  FMR <= %-7g threshold %5llu   FMR %.4f%%   FNMR %.2f%%\n", pooled_targets[k],
               (unsigned long long)ev->pooled[k].threshold, 100 * ev->pooled[k].fmr,
               100 * ev->pooled[k].fnmr);
}

static void eval_free(struct eval *ev)
{
    for (size_t d = 0; d < ev->ndb; d++) {
        struct db *db = &ev->db[d];
        for (size_t i = 0; i < db->n; i++) {
            if (db->s[i].f != NULL)
                sidik_finger_destroy(db->s[i].f);
            sidik_free(db->s[i].path);
        }
        sidik_free(db->s);
        sidik_free(db->score);
        sidik_free(db->name);
    }
    sidik_free(ev->db);
}

static void usage(FILE *f)
{
    fputs("usage: sidik eval [--json] [--simd LEVEL] PATH\n", f);
}

static void help(void)
{
    usage(stdout);
    fputs(
        "\n"
        "Measures the matcher's accuracy on finger minutiae records by the protocol of\n"
        "the Fingerprint Verification Competitions (FVC2000/FVC2002, Maio et al.).\n"
        "\n"
        "PATH is one DB folder holding files named FINGER_IMPRESSION.iso (101_1.iso,\n"
        "101_2.iso, ...: finger number, underscore, impression number, each up to 9\n"
        "digits), or a folder of such DB folders (other files there, such as a README,\n"
        "are ignored). Same finger = same DB and same FINGER number; different DBs are\n"
        "different people. Names starting with '.' are skipped; any other name that\n"
        "does not fit is refused, as is a file that does not decode, since either would\n"
        "change the attempt counts. Each file is decoded (ISO/IEC 19794-2, ANSI/INCITS\n"
        "378) and view 0 of the record is matched.\n"
        "\n"
        "Attempts, per DB (each unordered pair scored once, symmetric ones not repeated):\n"
        "  genuine             every pair of impressions of the same finger\n"
        "                      (FVC2002 B set: 10 fingers x 8*7/2 = 280)\n"
        "  impostor, standard  the first (lowest-numbered) impression of each finger\n"
        "                      against that of every other finger (10*9/2 = 45)\n"
        "  impostor, extended  every pair of impressions of different fingers (2,880);\n"
        "                      45 attempts cannot resolve an FMR below 2.2%\n"
        "\n"
        "Rates, for a threshold t (a comparison matches when score >= t), computed\n"
        "with each impostor set against the genuine set:\n"
        "  FMR(t)    false match rate: fraction of impostor scores >= t\n"
        "  FNMR(t)   false non-match rate: fraction of genuine scores < t\n"
        "  EER       equal error rate, as FVC computes it: the curves are steps, so\n"
        "            over t = every score and one above them all, t1 is the largest\n"
        "            t with FNMR <= FMR and t2 the smallest with FNMR >= FMR; the\n"
        "            interval is [FNMR(t1), FMR(t1)] if FNMR(t1)+FMR(t1) <=\n"
        "            FMR(t2)+FNMR(t2), else [FMR(t2), FNMR(t2)]; EER is its midpoint\n"
        "            (0 when every genuine score is above every impostor score)\n"
        "  FMR100    lowest FNMR at any t with FMR <= 1% (with 45 impostor attempts,\n"
        "            none may be accepted)\n"
        "  FMR1000   lowest FNMR at any t with FMR <= 0.1%\n"
        "  ZeroFMR   lowest FNMR at any t with FMR = 0\n"
        "\n"
        "Rank-1 identification, over every template given, across all DBs: each\n"
        "template that has another impression of its finger is a probe against all\n"
        "other templates; it is a hit when its best genuine score is strictly above\n"
        "every impostor score. A tie with an impostor is a miss.\n"
        "\n"
        "Thresholds: the genuine and extended impostor scores of all DBs pooled; for\n"
        "FMR targets 1%, 0.1% and 0.01%, the lowest score threshold meeting the\n"
        "target, with the FMR and FNMR measured there.\n"
        "\n"
        "Output: a table (rates in percent) on stdout, or with --json exactly one\n"
        "object: {\"dbs\":[{\"name\",\"genuine\",\"impostor\",\"impostor_ext\",\"eer\",\n"
        "\"fmr100\",\"fmr1000\",\"zerofmr\",\"eer_ext\",\"fmr100_ext\",\"fmr1000_ext\",\n"
        "\"zerofmr_ext\"}, ...],\"rank1\",\"thresholds\":[{\"target_fmr\",\"threshold\",\"fmr\",\n"
        "\"fnmr\"}, ...]} with rates as fractions in [0, 1]. The number\n"
        "of comparisons and the time taken go to stderr.\n"
        "\n"
        "Options:\n"
        "  --json          print the JSON object instead of the table\n"
        "  --simd LEVEL    scalar, sse42, avx2 or avx512 (default: $SIDIK_SIMD, else\n"
        "                  the best this CPU has); scores are identical at every level\n"
        "  -h, --help      this text\n"
        "\n"
        "Examples:\n"
        "  sidik eval ../shared/data/fvc2002               every DB, a table\n"
        "  sidik eval --json ../shared/data/fvc2002/DB1_B  one DB, for programs\n"
        "  sidik eval --simd scalar DIR                    the scalar oracle's (same) scores\n"
        "\n"
        "Exit codes: 0 success; 1 the evaluation failed (missing, unreadable or\n"
        "undecodable file, misnamed file, no genuine or impostor attempts, SIMD level\n"
        "this CPU lacks); 2 the command line was wrong.\n",
        stdout);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The SIMD level from --simd, else from $SIDIK_SIMD or the CPU. A name that
 * is no level is a command-line error; a level the CPU lacks is a failure
 * of the run, as `sidik version` treats it. */
static int choose_level(const char *opt, sidik_simd_level *level)
{
    const char *why = NULL;
    if (opt == NULL) {
        if (sidik_simd_choose_from_env(level, &why) != 0) {
            fail(0, "SIDIK_SIMD refused: %s", why);
            return SIDIK_CLI_EXIT_FAIL;
        }
        return SIDIK_CLI_EXIT_OK;
    }
    sidik_simd_level parsed;
    if (sidik_simd_level_parse(opt, &parsed) != 0) {
        fail(0, "--simd '%s': must be one of scalar, sse42, avx2, avx512", opt);
        return SIDIK_CLI_EXIT_USAGE;
    }
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    if (sidik_simd_choose(&f, opt, level, &why) != 0) {
        fail(0, "--simd %s refused: %s", opt, why);
        return SIDIK_CLI_EXIT_FAIL;
    }
    return SIDIK_CLI_EXIT_OK;
}

int sidik_cmd_eval(int argc, char **argv)
{
    int json = 0, opts_done = 0;
    const char *path = NULL, *simd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || a[1] == '\0') {
            if (path != NULL) {
                fail(0, "one PATH only, got '%s' and '%s'", path, a);
                usage(stderr);
                return SIDIK_CLI_EXIT_USAGE;
            }
            path = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help();
            return SIDIK_CLI_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--simd") == 0) {
            if (i + 1 >= argc) {
                fail(0, "--simd needs a level: scalar, sse42, avx2 or avx512");
                return SIDIK_CLI_EXIT_USAGE;
            }
            simd = argv[++i];
        } else if (strncmp(a, "--simd=", 7) == 0) {
            simd = a + 7;
        } else {
            fail(0, "unknown option '%s'; 'sidik eval --help' lists them", a);
            return SIDIK_CLI_EXIT_USAGE;
        }
    }
    if (path == NULL) {
        fail(0, "PATH missing");
        usage(stderr);
        return SIDIK_CLI_EXIT_USAGE;
    }
    sidik_simd_level level;
    int code = choose_level(simd, &level);
    if (code != SIDIK_CLI_EXIT_OK)
        return code;

    struct eval ev = {0};
    sidik_matcher *m = NULL;
    double t0 = now_s();
    int rc = collect(&ev, path);
    if (rc == 0)
        rc = decode_all(&ev);
    if (rc == 0 && (rc = sidik_matcher_create(level, &m)) != 0)
        fail(rc, "matcher at SIMD level %s: %s", sidik_simd_level_name(level), sidik_strerror(rc));
    if (rc == 0)
        rc = score_all(&ev, m);
    for (size_t d = 0; d < ev.ndb && rc == 0; d++)
        rc = rates_for_db(&ev.db[d]);
    if (rc == 0)
        rc = pooled_thresholds(&ev);
    if (rc == 0) {
        size_t templates = 0;
        for (size_t d = 0; d < ev.ndb; d++)
            templates += ev.db[d].n;
        fprintf(stderr,
                "sidik eval: %zu templates in %zu DB%s, %llu comparisons, %.2f s (simd %s)\n",
                templates, ev.ndb, ev.ndb == 1 ? "" : "s", (unsigned long long)ev.comparisons,
                now_s() - t0, sidik_simd_level_name(level));
        if (json)
            print_json(&ev);
        else
            print_table(&ev);
        if (fflush(stdout) != 0 || ferror(stdout))
            rc = fail(-EIO, "writing the result: %s", strerror(errno));
    }
    if (m != NULL)
        sidik_matcher_destroy(m);
    eval_free(&ev);
    return rc == 0 ? SIDIK_CLI_EXIT_OK : SIDIK_CLI_EXIT_FAIL;
}

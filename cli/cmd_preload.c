/*
 * `sidik preload`: persons from an earlier system into a stopped sidikd's
 * gallery, so it starts deduplicating against them (the old store held 170
 * million; `make demo` preloads a synthetic few thousand).
 *
 * Each record becomes a gallery person with record id 2^62 + its index in
 * the file (journal sequences, which sidikd gives its own persons, never
 * get there), stored in the emptiest shard (each record's search signature is
 * computed first, to refuse one with no usable finger), and
 * named in the control store as enrollment "migrated-<index>" with its NIK
 * (when --niks gives one), which the dedup stage checks new NIKs against.
 * sidikd must be stopped: it loads the gallery into memory when it starts,
 * so persons written behind a running one would not be searched.
 */
#include "cli.h"
#include "sidik/common.h"
#include "sidik/control.h"
#include "sidik/shardset.h"
#include "sidik/signature.h"
#include "sidik/template.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BATCH 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sidik preload --data DIR --records FILE [--niks FILE] [--count N]\n"
            "                     [--threads T]\n"
            "\n"
            "Writes the records of FILE (ISO/IEC 19794-2 ten-finger records back to\n"
            "back, as `sidik gen` writes records.iso) into the gallery of the sidikd\n"
            "data folder DIR as persons migrated from an earlier system: record id\n"
            "2^62 + index, enrollment \"migrated-<index>\", the NIK on line <index>+1\n"
            "of --niks (16 digits, or an empty line for none). sidikd must be\n"
            "stopped; it deduplicates against them from its next start.\n"
            "\n"
            "  --count N    the first N records only (default: all)\n"
            "  --threads T  threads computing search signatures, 1..64 (default 2)\n"
            "\n"
            "Example:\n"
            "  sidik gen --persons 5000 --reenroll-rate 0 --out old\n"
            "  sidik preload --data ./var --records old/records.iso\n"
            "\n"
            "Exit codes: 0 all written, 1 a record or the store refused (what was\n"
            "written before stays, whole batches of 256), 2 the command line was wrong.\n");
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    uint8_t *p = malloc(cap);
    size_t got;
    while (p != NULL && (got = fread(p + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *q = realloc(p, cap *= 2);
            if (q == NULL)
                free(p);
            p = q;
        }
    }
    if (ferror(f)) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = len;
    return p;
}

typedef struct job {
    const uint8_t *data;
    size_t *off, *len; /* each record of the batch */
    sidik_person_sig *sig;
    size_t n;
    uint32_t threads;
} job;

typedef struct worker {
    job *j;
    uint32_t k;
    int rc; /* its first refusal: record bad, why */
    const char *why;
    size_t bad;
} worker;

static void *signatures(void *arg)
{
    worker *w = arg;
    job *j = w->j;
    sidik_fmr *rec = malloc(sizeof *rec);
    for (size_t i = w->k; rec != NULL && i < j->n; i += j->threads) {
        const char *why = NULL;
        int rc = sidik_fmr_decode(j->data + j->off[i], j->len[i], rec, &why);
        if (rc == 0)
            rc = sidik_sig_person(rec, &j->sig[i], &why);
        if (rc != 0 && w->rc == 0) {
            w->rc = rc;
            w->why = why;
            w->bad = i;
        }
    }
    free(rec);
    return NULL;
}

static int parse_count(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == 0 || *end != 0 || errno != 0 || v < 1 || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* Line i of the NIK file (empty: none). */
static const char *nik_at(char **lines, size_t nlines, size_t i)
{
    return i < nlines ? lines[i] : "";
}

/* The lines of path (in *text, the caller's to free with the array). */
static char **read_lines(const char *path, size_t *n, char **text_out)
{
    size_t size;
    char *text = (char *)read_file(path, &size);
    *text_out = text;
    if (text == NULL)
        return NULL;
    char **lines = malloc((size + 2) * sizeof *lines);
    *n = 0;
    char *p = text, *end = text + size;
    while (lines != NULL && p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        *nl = 0;
        lines[(*n)++] = p;
        p = nl + 1;
    }
    return lines;
}

static int load(const uint8_t *file, size_t size, const char *records, const char *data,
                char **lines, size_t nlines, uint64_t count, uint32_t threads);

int sidik_cmd_preload(int argc, char **argv)
{
    const char *data = NULL, *records = NULL, *niks = NULL;
    uint64_t count = UINT64_MAX, threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return SIDIK_CLI_EXIT_OK;
        } else if (v != NULL && strcmp(a, "--data") == 0) {
            data = v, i++;
        } else if (v != NULL && strcmp(a, "--records") == 0) {
            records = v, i++;
        } else if (v != NULL && strcmp(a, "--niks") == 0) {
            niks = v, i++;
        } else if (v != NULL && strcmp(a, "--count") == 0) {
            if (parse_count(v, UINT32_MAX, &count) != 0) {
                fprintf(stderr, "sidik preload: --count must be 1..4294967295\n");
                return SIDIK_CLI_EXIT_USAGE;
            }
            i++;
        } else if (v != NULL && strcmp(a, "--threads") == 0) {
            if (parse_count(v, 64, &threads) != 0) {
                fprintf(stderr, "sidik preload: --threads must be 1..64\n");
                return SIDIK_CLI_EXIT_USAGE;
            }
            i++;
        } else {
            fprintf(stderr, "sidik preload: unknown or incomplete option '%s'; see --help\n", a);
            return SIDIK_CLI_EXIT_USAGE;
        }
    }
    if (data == NULL || records == NULL) {
        fprintf(stderr, "sidik preload: needs --data DIR and --records FILE; see --help\n");
        return SIDIK_CLI_EXIT_USAGE;
    }
    size_t size, nlines = 0;
    uint8_t *file = read_file(records, &size);
    if (file == NULL) {
        fprintf(stderr, "sidik preload: %s: %s\n", records, strerror(errno));
        return SIDIK_CLI_EXIT_FAIL;
    }
    char **lines = NULL, *text = NULL;
    int rc = 0;
    if (niks != NULL && (lines = read_lines(niks, &nlines, &text)) == NULL) {
        fprintf(stderr, "sidik preload: %s: %s\n", niks, strerror(errno));
        rc = SIDIK_EINVAL;
    } else if (mkdir(data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "sidik preload: %s: %s\n", data, strerror(errno));
        rc = -errno;
    }
    if (rc == 0)
        rc = load(file, size, records, data, lines, nlines, count, (uint32_t)threads);
    free(file);
    free(lines);
    free(text);
    return rc == 0 ? SIDIK_CLI_EXIT_OK : SIDIK_CLI_EXIT_FAIL;
}

/* Writes the records of file into data's gallery; 0 or the error (said). */
static int load(const uint8_t *file, size_t size, const char *records, const char *data,
                char **lines, size_t nlines, uint64_t count, uint32_t threads)
{
    char dir[4096];
    const char *why = NULL;
    sidik_control *control;
    snprintf(dir, sizeof dir, "%s/control", data);
    int rc = sidik_control_open(dir, NULL, &control, &why);
    if (rc != 0) {
        fprintf(stderr, "sidik preload: %s: %s (%s)\n", dir, why ? why : "", sidik_strerror(rc));
        return rc;
    }
    sidik_shardset *shards;
    snprintf(dir, sizeof dir, "%s/gallery", data);
    if ((rc = sidik_shardset_open(dir, control, NULL, &shards, &why)) != 0) {
        fprintf(stderr, "sidik preload: %s: %s (%s)\n", dir, why ? why : "", sidik_strerror(rc));
        sidik_control_close(control);
        return rc;
    }

    static size_t off[BATCH], len[BATCH];
    static sidik_person_sig sig[BATCH];
    size_t at = 0, done = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (rc == 0 && at < size && done < count) {
        job j = {.data = file, .off = off, .len = len, .sig = sig, .threads = (uint32_t)threads};
        while (j.n < BATCH && at < size && done + j.n < count) {
            uint32_t n = at + 12 <= size ? (uint32_t)file[at + 8] << 24 |
                                               (uint32_t)file[at + 9] << 16 |
                                               (uint32_t)file[at + 10] << 8 | file[at + 11]
                                         : 0;
            if (n < 12 || n > size - at) {
                fprintf(stderr, "sidik preload: %s: record %zu at byte %zu: its length field "
                                "says %u, the file has %zu bytes left\n",
                        records, done + j.n, at, n, size - at);
                rc = SIDIK_ETRUNCATED;
                break;
            }
            off[j.n] = at, len[j.n] = n;
            at += n;
            j.n++;
        }
        if (rc != 0 || j.n == 0)
            break;
        pthread_t th[64];
        worker w[64];
        for (uint32_t k = 0; k < threads; k++) {
            w[k] = (worker){.j = &j, .k = k};
            pthread_create(&th[k], NULL, signatures, &w[k]);
        }
        const worker *first = NULL;
        for (uint32_t k = 0; k < threads; k++) {
            pthread_join(th[k], NULL);
            if (w[k].rc != 0 && (first == NULL || w[k].bad < first->bad))
                first = &w[k];
        }
        if (first != NULL) {
            rc = first->rc;
            fprintf(stderr, "sidik preload: record %zu: %s (%s)\n", done + first->bad,
                    first->why ? first->why : "", sidik_strerror(rc));
            break;
        }
        sidik_shard_record r[BATCH];
        for (size_t i = 0; i < j.n; i++)
            r[i] = (sidik_shard_record){.id = SIDIK_RECORD_MIGRATED_FIRST + done + i,
                                        .tmpl = file + off[i], .tmpl_len = len[i]};
        size_t bad = 0;
        if ((rc = sidik_shardset_put(shards, r, j.n, &bad)) != 0) {
            fprintf(stderr, "sidik preload: record %zu: the gallery refused it (%s)%s\n",
                    done + bad, sidik_strerror(rc),
                    rc == SIDIK_EEXISTS ? "; preloaded already?" : "");
            break;
        }
        sidik_control_txn *t;
        if ((rc = sidik_control_begin(control, true, &t)) == 0) {
            for (size_t i = 0; rc == 0 && i < j.n; i++) {
                char id[SIDIK_ENROLL_ID_MAX + 1];
                snprintf(id, sizeof id, "migrated-%zu", done + i);
                const char *nik = nik_at(lines, nlines, done + i);
                if ((rc = sidik_control_person_put(t, r[i].id, id, nik)) != 0)
                    fprintf(stderr, "sidik preload: record %zu: %s (NIK \"%s\": 16 digits or "
                                    "nothing)\n",
                            done + i, sidik_strerror(rc), nik);
            }
            if (rc == 0)
                rc = sidik_control_commit(t);
            else
                sidik_control_abort(t);
        }
        if (rc != 0)
            break;
        done += j.n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    sidik_shardset_close(shards);
    sidik_control_close(control);
    if (rc == 0)
        printf("preloaded %zu persons into %s/gallery in %.1f s (%.0f a second)\n", done, data,
               secs, secs > 0 ? (double)done / secs : 0.0);
    return rc;
}

/* Loading real templates for the benchmarks (see bench_data.h). */
#include "bench_data.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SIDIK_SOURCE_DIR
#define SIDIK_SOURCE_DIR "."
#endif

const char *bench_default_data(void)
{
    const char *env = getenv("SIDIK_FVC_DATA");
    return env != NULL ? env : SIDIK_SOURCE_DIR "/../shared/data/fvc2002";
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of dir (so runs are reproducible). */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (d == NULL)
        return NULL;
    size_t cap = 64;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        if (v != NULL)
            v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (v != NULL)
        qsort(v, *n, sizeof *v, cmp_names);
    return v;
}

static void load_file(const char *path, int db, const char *name, bench_template **out, size_t *n,
                      size_t *cap, size_t *bad)
{
    size_t len = strlen(name);
    if (len < 5 || strcmp(name + len - 4, ".iso") != 0)
        return;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return;
    static uint8_t buf[1 << 20];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    static sidik_fmr fmr;
    const char *why = NULL;
    if (sidik_fmr_decode(buf, got, &fmr, &why) != 0 || fmr.nviews == 0) {
        (*bad)++;
        return;
    }
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *out = realloc(*out, *cap * sizeof **out);
    }
    bench_template *b = &(*out)[(*n)++];
    b->t = fmr.views[0];
    b->db = db;
    b->finger = 0;
    b->impression = 0;
    sscanf(name, "%d_%d", &b->finger, &b->impression);
}

bench_template *bench_load_templates(const char *dir, size_t *n)
{
    bench_template *out = NULL;
    size_t cap = 0, bad = 0, nnames = 0;
    *n = 0;
    char **names = list_dir(dir, &nnames);
    for (size_t i = 0; i < nnames; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            size_t nsub = 0;
            char **sub = list_dir(path, &nsub);
            for (size_t k = 0; k < nsub; k++) {
                char p2[8192];
                snprintf(p2, sizeof p2, "%s/%s", path, sub[k]);
                load_file(p2, (int)i + 1, sub[k], &out, n, &cap, &bad);
                free(sub[k]);
            }
            free(sub);
        } else {
            load_file(path, 0, names[i], &out, n, &cap, &bad);
        }
        free(names[i]);
    }
    free(names);
    if (*n == 0) {
        fprintf(stderr, "no templates could be loaded from %s (%zu failed to decode)\n", dir, bad);
        free(out);
        return NULL;
    }
    if (bad > 0)
        fprintf(stderr, "note: %zu files under %s failed to decode and were skipped\n", bad, dir);
    return out;
}

/*
 * Runs a fuzz target's LLVMFuzzerTestOneInput over every file of the folders
 * (or the files) named on the command line, once each: how builds without
 * libFuzzer (gcc, ASan) still exercise the checked-in corpus and every
 * crash input saved in it. A target that aborts fails the run; so does an
 * empty corpus, which would otherwise pass without testing anything.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sidik/alloc.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        perror(path);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    /* One byte more than needed so an empty file still gets a real buffer. */
    uint8_t *p = sidik_xmalloc(n + 1);
    size_t got = fread(p, 1, n, f);
    fclose(f);
    if (got != n) {
        fprintf(stderr, "%s: short read\n", path);
        sidik_free(p);
        return -1;
    }
    LLVMFuzzerTestOneInput(p, n);
    sidik_free(p);
    return 0;
}

static int run_dir(const char *dir, unsigned *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        perror(dir);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = run_file(path);
        ++*count;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    unsigned count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i]);
        if (!S_ISDIR(st.st_mode))
            count++;
        if (rc != 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "no inputs found: an empty corpus tests nothing\n");
        return 1;
    }
    printf("replayed %u inputs\n", count);
    return 0;
}

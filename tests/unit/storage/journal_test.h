/*
 * Shared by the journal's tests: scratch folders and payloads that are a
 * function of their sequence number, so any entry read back can be checked
 * without keeping a copy.
 */
#ifndef SIDIK_JOURNAL_TEST_H
#define SIDIK_JOURNAL_TEST_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

/* A fresh folder under TMPDIR (or /tmp); the caller frees the path with
 * scratch_remove(). */
static inline char *scratch_create(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/sidik-journal-XXXXXX", base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline int scratch_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void scratch_remove(char *dir)
{
    nftw(dir, scratch_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* Payload of entry seq: its length (up to max) and bytes both follow from
 * seq, so a reader can check any entry it meets. */
static inline size_t payload_len(uint64_t seq, size_t max)
{
    uint64_t s = seq * 7919;
    return (size_t)(sidik_test_rand(&s) % (max + 1));
}

static inline void payload_fill(uint64_t seq, uint8_t *p, size_t n)
{
    uint64_t s = seq;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(sidik_test_rand(&s) >> 56);
}

static inline int payload_check(uint64_t seq, const uint8_t *p, size_t n, size_t max)
{
    if (n != payload_len(seq, max))
        return -1;
    uint64_t s = seq;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(sidik_test_rand(&s) >> 56))
            return -1;
    return 0;
}

#endif

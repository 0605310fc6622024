/*
 * The 320 real FVC2002 records (shared/data/fvc2002, next to the
 * repository; the test target defines SIDIK_FVC2002_DIR), decoded for the
 * matcher's tests. The folder may be absent from a checkout: the loader
 * then finds nothing and the caller says so rather than failing.
 */
#ifndef SIDIK_TEST_FVC2002_H
#define SIDIK_TEST_FVC2002_H

#include "test_support.h"

#include <stdio.h>
#include <string.h>

#include "sidik/template.h"

/* Reads and decodes DB db (e.g. "DB1_B"), finger 101..110, impression 1..8
 * into *out. Returns 0, or -1 when the file is absent; a file that does
 * not decode fails the test. */
static inline int sidik_test_fvc2002_read(const char *db, int finger, int imp, sidik_fmr *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%d_%d.iso", SIDIK_FVC2002_DIR, db, finger, imp);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    uint8_t buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(buf, len, out, &why), 0);
    return 0;
}

/* Calls fn with every record found, DB by DB (db NULL: all four), finger
 * by finger, impression by impression. Returns how many (0: the caller
 * says the data is absent). */
static inline int sidik_test_fvc2002_each(const char *db, void (*fn)(void *ctx, const sidik_fmr *r),
                                          void *ctx)
{
    static const char *const dbs[] = {"DB1_B", "DB2_B", "DB3_B", "DB4_B"};
    static sidik_fmr r; /* 31 KB: off the (sanitizer-padded) stack */
    int found = 0;
    for (int d = 0; d < 4; d++) {
        if (db != NULL && strcmp(db, dbs[d]) != 0)
            continue;
        for (int finger = 101; finger <= 110; finger++)
            for (int imp = 1; imp <= 8; imp++)
                if (sidik_test_fvc2002_read(dbs[d], finger, imp, &r) == 0) {
                    fn(ctx, &r);
                    found++;
                }
    }
    return found;
}

#endif

/*
 * Benchmarks' access to real templates: every *.iso record under a folder
 * (one level of DB subfolders allowed), decoded, view 0. Benchmarks print
 * figures; they never judge, so this loader is forgiving where `sidik eval`
 * is strict: files that fail to decode are counted and skipped.
 */
#ifndef SIDIK_BENCH_DATA_H
#define SIDIK_BENCH_DATA_H

#include <stddef.h>

#include "sidik/template.h"

typedef struct {
    sidik_template t;
    int db;     /* index of its DB folder, 0 when the folder has none */
    int finger; /* the number before '_' in the file name */
    int impression;
} bench_template;

/** Loads the records under dir into a new array (free with free()); sets *n.
 *  Returns NULL, with a message on stderr, when nothing could be loaded. */
bench_template *bench_load_templates(const char *dir, size_t *n);

/** The FVC2002 folder next to the repository, or $SIDIK_FVC_DATA. */
const char *bench_default_data(void);

#endif

/*
 * A fixed set of worker threads behind the search engine's sidik_pool:
 * run(n, task) hands out task(arg, 0..n-1) to the workers and the calling
 * thread, and returns when every task has returned. One run at a time (the
 * dedup stage is the only caller); the threads sleep between runs.
 */
#ifndef SIDIK_WORKERS_H
#define SIDIK_WORKERS_H

#include "sidik/search.h"

typedef struct sidik_workers sidik_workers;

/** threads in all (1..256), the caller of run counting as one. Errors:
 *  SIDIK_EINVAL, SIDIK_ENOMEM, -errno (a thread would not start). */
int sidik_workers_create(unsigned threads, sidik_workers **out);
/** Stops and joins the threads. NULL is ignored. */
void sidik_workers_destroy(sidik_workers *w);
/** The pool for sidik_search; valid until destroy. */
const sidik_pool *sidik_workers_pool(const sidik_workers *w);

#endif

/*
 * The benchmarks' thread pool: threads started per run, work handed out by
 * an atomic counter. Also a sidik_pool for the search engine.
 */
#ifndef SIDIK_BENCH_POOL_H
#define SIDIK_BENCH_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct pool {
    unsigned threads;
} pool;

typedef struct pool_job {
    void (*task)(void *, uint32_t);
    void *arg;
    uint32_t n;
    _Atomic uint32_t next;
} pool_job;

static inline void *pool_worker(void *p)
{
    pool_job *j = p;
    for (uint32_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n;)
        j->task(j->arg, i);
    return NULL;
}

/* Runs task(arg, i) for i in [0, n) on the pool's threads (the caller's
 * among them) and returns when all are done. */
static inline void pool_run(void *ctx, uint32_t n, void (*task)(void *, uint32_t), void *arg)
{
    pool *pl = ctx;
    pool_job j = {.task = task, .arg = arg, .n = n};
    pthread_t th[64];
    unsigned t = pl->threads < 64 ? pl->threads : 64;
    for (unsigned i = 1; i < t; i++)
        pthread_create(&th[i], NULL, pool_worker, &j);
    pool_worker(&j);
    for (unsigned i = 1; i < t; i++)
        pthread_join(th[i], NULL);
}

#endif

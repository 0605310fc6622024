/* Worker threads for the search engine's pool (sidik/workers.h). */
#include "sidik/common.h"
#include "sidik/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct sidik_workers {
    sidik_pool pool;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    pthread_t *threads;
    unsigned nthreads; /* started, besides the caller */
    bool stop;
    /* The current run: tasks handed out by an atomic counter. */
    uint64_t generation; /* bumped by each run, under mu */
    void (*task)(void *arg, uint32_t i);
    void *arg;
    uint32_t n;
    _Atomic uint32_t next;
    unsigned busy; /* workers inside the current run, under mu */
};

static void drain(sidik_workers *w)
{
    for (uint32_t i; (i = atomic_fetch_add(&w->next, 1)) < w->n;)
        w->task(w->arg, i);
}

static void *worker(void *p)
{
    sidik_workers *w = p;
    uint64_t seen = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->generation == seen)
            pthread_cond_wait(&w->go, &w->mu);
        if (w->stop)
            break;
        seen = w->generation;
        w->busy++;
        pthread_mutex_unlock(&w->mu);
        drain(w);
        pthread_mutex_lock(&w->mu);
        if (--w->busy == 0)
            pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void run(void *ctx, uint32_t n, void (*task)(void *arg, uint32_t i), void *arg)
{
    sidik_workers *w = ctx;
    pthread_mutex_lock(&w->mu);
    /* A worker that woke late for the last run may still be on its way
     * out (it found the counter spent): the run's fields stay until it is. */
    while (w->busy > 0)
        pthread_cond_wait(&w->done, &w->mu);
    w->task = task;
    w->arg = arg;
    w->n = n;
    atomic_store(&w->next, 0);
    w->generation++;
    pthread_cond_broadcast(&w->go);
    pthread_mutex_unlock(&w->mu);
    drain(w);
    /* Every task has been taken; wait for the workers still running one.
     * A worker that woke late finds the counter spent and leaves at once. */
    pthread_mutex_lock(&w->mu);
    while (w->busy > 0)
        pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

int sidik_workers_create(unsigned threads, sidik_workers **out)
{
    if (threads < 1 || threads > 256 || out == NULL)
        return SIDIK_EINVAL;
    sidik_workers *w = sidik_trycalloc(1, sizeof *w);
    if (w == NULL)
        return SIDIK_ENOMEM;
    w->pool = (sidik_pool){run, w};
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->go, NULL);
    pthread_cond_init(&w->done, NULL);
    int rc = 0;
    if (threads > 1 && (w->threads = sidik_trycalloc(threads - 1, sizeof *w->threads)) == NULL)
        rc = SIDIK_ENOMEM;
    for (unsigned i = 0; rc == 0 && i + 1 < threads; i++) {
        int e = pthread_create(&w->threads[i], NULL, worker, w);
        if (e != 0)
            rc = -e;
        else
            w->nthreads++;
    }
    if (rc != 0) {
        sidik_workers_destroy(w);
        return rc;
    }
    *out = w;
    return 0;
}

void sidik_workers_destroy(sidik_workers *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->go);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    pthread_cond_destroy(&w->go);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    sidik_free(w->threads);
    sidik_free(w);
}

const sidik_pool *sidik_workers_pool(const sidik_workers *w)
{
    return &w->pool;
}

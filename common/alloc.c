/*
 * The allocation wrapper: jemalloc (or libc under sanitizers) plus counters
 * and a fault hook.
 *
 * Sizes are counted with malloc_usable_size(), which both jemalloc and glibc
 * provide, so no per-block header is needed and a block can still be handed
 * to a library that frees it with plain free() (we never do, but it keeps the
 * layout the allocator's own).
 */
#include "sidik/alloc.h"
#include "sidik/log.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <gnu/libc-version.h>

#ifdef SIDIK_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static _Atomic size_t live_bytes;
static _Atomic size_t live_blocks;
/* Countdown to the injected failure; 0 = disarmed. */
static _Atomic uint64_t fail_countdown;

static void *account(void *p)
{
    if (p != NULL) {
        atomic_fetch_add_explicit(&live_bytes, malloc_usable_size(p), memory_order_relaxed);
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    }
    return p;
}

static void unaccount(void *p)
{
    if (p != NULL) {
        atomic_fetch_sub_explicit(&live_bytes, malloc_usable_size(p), memory_order_relaxed);
        atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    }
}

/* True when this try-allocation is the one the test asked to fail. */
static bool injected_failure(void)
{
    uint64_t c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (c != 0) {
        if (atomic_compare_exchange_weak_explicit(&fail_countdown, &c, c - 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return c == 1;
    }
    return false;
}

static void *oom(size_t n)
{
    SIDIK_LOG_ERROR("out of memory at start-up", "bytes=%zu", n);
    abort();
}

void *sidik_trymalloc(size_t n)
{
    if (injected_failure())
        return NULL;
    return account(malloc(n == 0 ? 1 : n));
}

void *sidik_trycalloc(size_t count, size_t size)
{
    if (injected_failure())
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1;
    /* Checked here, not left to calloc: sanitizer allocators abort on it. */
    if (count > SIZE_MAX / size)
        return NULL;
    return account(calloc(count, size));
}

void *sidik_tryrealloc(void *p, size_t n)
{
    if (injected_failure())
        return NULL;
    if (n == 0)
        n = 1;
    size_t old = p != NULL ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n);
    if (q == NULL)
        return NULL;
    if (p == NULL)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, old, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_bytes, malloc_usable_size(q), memory_order_relaxed);
    return q;
}

void *sidik_trygrow(void *p, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return p;
    size_t want = *cap ? *cap * 2 : first;
    if (want <= n || size == 0 || want > SIZE_MAX / size)
        return NULL;
    void *q = sidik_tryrealloc(p, want * size);
    if (q != NULL)
        *cap = want;
    return q;
}

char *sidik_trystrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sidik_trymalloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

void *sidik_xmalloc(size_t n)
{
    void *p = account(malloc(n == 0 ? 1 : n));
    return p != NULL ? p : oom(n);
}

void *sidik_xcalloc(size_t count, size_t size)
{
    if (count == 0 || size == 0)
        count = size = 1;
    void *p = account(calloc(count, size));
    return p != NULL ? p : oom(count * size);
}

void *sidik_xrealloc(void *p, size_t n)
{
    size_t old = p != NULL ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n == 0 ? 1 : n);
    if (q == NULL)
        return oom(n);
    if (p == NULL)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, old, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_bytes, malloc_usable_size(q), memory_order_relaxed);
    return q;
}

char *sidik_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sidik_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void sidik_free(void *p)
{
    unaccount(p);
    free(p);
}

size_t sidik_alloc_bytes(void)
{
    return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

size_t sidik_alloc_blocks(void)
{
    return atomic_load_explicit(&live_blocks, memory_order_relaxed);
}

void sidik_alloc_fail_nth(uint64_t nth)
{
    atomic_store_explicit(&fail_countdown, nth, memory_order_relaxed);
}

bool sidik_alloc_fail_pending(void)
{
    return atomic_load_explicit(&fail_countdown, memory_order_relaxed) != 0;
}

const char *sidik_alloc_backend(void)
{
#ifdef SIDIK_HAVE_JEMALLOC
    return "jemalloc";
#else
    return "libc";
#endif
}

const char *sidik_alloc_version(void)
{
#ifdef SIDIK_HAVE_JEMALLOC
    /* Ask the running library, not the header we compiled against; the
     * string lives inside jemalloc for the life of the process. */
    const char *v = NULL;
    size_t sz = sizeof v;
    if (mallctl("version", (void *)&v, &sz, NULL, 0) == 0 && v != NULL)
        return v;
    return JEMALLOC_VERSION;
#else
    return gnu_get_libc_version();
#endif
}

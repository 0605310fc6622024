/*
 * sidik's one allocation wrapper.
 *
 * Every heap allocation in sidik goes through these functions. In the normal
 * build the process allocator is jemalloc (linked in, replacing malloc for the
 * whole process, libraries included); sanitizer builds keep libc's allocator so
 * the sanitizer sees every block. Either way the wrapper counts live blocks and
 * bytes, and tests can make the Nth try-allocation fail.
 *
 * Two families:
 *  - sidik_x*: for start-up only. On failure they log and abort the process.
 *  - sidik_try*: for request paths. On failure they return NULL; the caller
 *    turns that into SIDIK_ENOMEM (gRPC RESOURCE_EXHAUSTED) for that one call.
 *    The fault hook applies to this family only.
 *
 * Thread safety: all functions are thread-safe. The counters are relaxed
 * atomics: exact once threads are joined, approximate while they run.
 */
#ifndef SIDIK_ALLOC_H
#define SIDIK_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *sidik_xmalloc(size_t n);
void *sidik_xcalloc(size_t count, size_t size);
void *sidik_xrealloc(void *p, size_t n);
char *sidik_xstrdup(const char *s);

void *sidik_trymalloc(size_t n);
void *sidik_trycalloc(size_t count, size_t size); /* NULL also when count*size overflows */
void *sidik_tryrealloc(void *p, size_t n);        /* on NULL, p is untouched and still owned */
char *sidik_trystrdup(const char *s);

/** Room for one more element in an array p of n elements of size bytes
 *  with capacity *cap: p itself while n < *cap, else p reallocated to twice
 *  *cap elements (first when *cap is 0), *cap raised. Doubling keeps
 *  appends amortised constant. On NULL (no memory, or a size that would
 *  overflow) p is untouched and still owned, and *cap unchanged. */
void *sidik_trygrow(void *p, size_t *cap, size_t n, size_t size, size_t first);

/** Frees a block from any function above. NULL is a no-op. */
void sidik_free(void *p);

/** Bytes currently allocated through the wrapper (usable sizes, so a little
 *  above what was asked for). */
size_t sidik_alloc_bytes(void);

/** Blocks currently allocated through the wrapper. */
size_t sidik_alloc_blocks(void);

/** Fault injection for tests: the nth sidik_try* call from now (1 = the next
 *  one) returns NULL without allocating; calls after it succeed again. 0
 *  disarms. Process-wide: arm it only while one thread allocates. */
void sidik_alloc_fail_nth(uint64_t nth);

/** True while an armed fault has not fired yet; lets a test loop "fail the
 *  1st, 2nd, ... allocation" stop once the operation no longer reaches it. */
bool sidik_alloc_fail_pending(void);

/** The process allocator: "jemalloc", or "libc" in sanitizer builds. */
const char *sidik_alloc_backend(void);

/** The running allocator's version, as it reports it ("5.3.0-0-g54eaed1d..."
 *  for jemalloc, glibc's version for libc). Static; never NULL. */
const char *sidik_alloc_version(void);

#endif

/*
 * bench_crc32c: journal checksum throughput, scalar vs SSE4.2, in one run.
 * Prints figures; never passes or fails.
 */
#include "sidik/common.h"
#include "sidik/crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GB/s of fn over buf, best of 5 runs of `reps` passes (best-of filters out
 * the other core's noise). */
static double measure(uint32_t (*fn)(uint32_t, const void *, size_t), const uint8_t *buf, size_t n,
                      int reps, uint32_t *sink)
{
    double best = 0;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        uint32_t c = 0;
        for (int r = 0; r < reps; r++)
            c = fn(c, buf, n);
        double dt = now() - t0;
        *sink ^= c;
        double gbs = (double)n * reps / dt / 1e9;
        if (gbs > best)
            best = gbs;
    }
    return best;
}

int main(void)
{
    size_t n = 25 * 1024; /* the average enrollment packet */
    uint8_t *buf = sidik_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 13);
    uint32_t sink = 0;
    double scalar = measure(sidik_crc32c_scalar, buf, n, 4000, &sink);
    printf("crc32c over %zu-byte packets, best of 5, one thread\n", n);
    printf("  scalar (slice-by-8)  %6.2f GB/s\n", scalar);
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    if (sidik_cpu_best_level(&f) >= SIDIK_SIMD_SSE42) {
        double hw = measure(sidik_crc32c_sse42, buf, n, 20000, &sink);
        printf("  sse42 (crc32q)       %6.2f GB/s  (%.1fx scalar)\n", hw, hw / scalar);
    } else {
        printf("  sse42                not available on this CPU\n");
    }
    printf("(checksum of the runs: %08x)\n", sink);
    sidik_free(buf);
    return 0;
}

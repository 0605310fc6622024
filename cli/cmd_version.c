/*
 * `sidik version`: what this binary is built from and runs on.
 *
 * Versions are asked of the running libraries where they can tell (a shared
 * library upgraded under the binary shows its new version); liburing 2.3 has
 * no run-time version call, so its build-time version is printed and marked
 * as such, together with whether io_uring actually works on this kernel.
 */
#include "cli.h"
#include "sidik/common.h"

#include <lmdb.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>
#ifdef SIDIK_HAVE_IO_URING
#include <liburing.h>
#endif

#ifndef SIDIK_VERSION
#define SIDIK_VERSION "0.0.0"
#endif

static void print_uring(void)
{
#ifdef SIDIK_HAVE_IO_URING
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc == 0) {
        io_uring_queue_exit(&ring);
        printf("%-11s %s (build time); io_uring available\n", "liburing", SIDIK_URING_VERSION);
    } else {
        printf("%-11s %s (build time); io_uring unavailable: %s, journal uses its fallback\n",
               "liburing", SIDIK_URING_VERSION, sidik_strerror(rc));
    }
#else
    printf("%-11s not linked (SIDIK_WITH_IO_URING=OFF); journal uses its fallback\n", "liburing");
#endif
}

int sidik_cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            printf("usage: sidik version\n\n"
                   "Prints the versions of sidik and of every library it links (asked of\n"
                   "the running library where possible), and the SIMD level the matcher\n"
                   "uses on this CPU (SIDIK_SIMD=scalar|sse42|avx2|avx512 forces a lower one).\n"
                   "\n"
                   "Examples:\n"
                   "  sidik version\n"
                   "  SIDIK_SIMD=avx2 sidik version     what a forced level reports\n"
                   "\n"
                   "Exit codes: 0 printed; 2 the command line was wrong.\n");
            return SIDIK_CLI_EXIT_OK;
        }
        fprintf(stderr, "sidik version: takes no arguments\n");
        return SIDIK_CLI_EXIT_USAGE;
    }

    printf("%-11s %s\n", "sidik", SIDIK_VERSION);
    printf("%-11s %s\n", "libuv", uv_version_string());
    print_uring();
    int maj, min, pat;
    mdb_version(&maj, &min, &pat);
    printf("%-11s %d.%d.%d\n", "LMDB", maj, min, pat);
    printf("%-11s %s\n", "protobuf-c", protobuf_c_version());
    printf("%-11s %s\n", "OpenSSL", OpenSSL_version(OPENSSL_VERSION));
    printf("%-11s %s\n", "nghttp2", nghttp2_version(0)->version_str);
    printf("%-11s %s %s\n", "allocator", sidik_alloc_backend(), sidik_alloc_version());

    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    sidik_simd_level best = sidik_cpu_best_level(&f);
    sidik_simd_level level;
    const char *why = NULL;
    if (sidik_simd_choose_from_env(&level, &why) != 0) {
        printf("%-11s refused: %s (best on this CPU: %s)\n", "SIMD", why,
               sidik_simd_level_name(best));
        return SIDIK_CLI_EXIT_FAIL;
    }
    printf("%-11s %s (best on this CPU: %s)\n", "SIMD", sidik_simd_level_name(level),
           sidik_simd_level_name(best));
    return SIDIK_CLI_EXIT_OK;
}

/*
 * sidikd: the central ingest and deduplication server.
 *
 * This build knows its version and checks the CPU; the gRPC service it will
 * run arrives with the ingest work (issue 6), so until then it says so and
 * exits non-zero rather than pretend to serve.
 */
#include "sidik/common.h"

#include <stdio.h>
#include <string.h>

#ifndef SIDIK_VERSION
#define SIDIK_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: sidikd [--version | --help]\n"
               "\n"
               "The central sidik server. In this build it reports its version and\n"
               "SIMD level; the gRPC ingest service is not built yet.\n");
}

int main(int argc, char **argv)
{
    sidik_log_init_from_env();
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("sidikd %s\n", SIDIK_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 1) {
        usage(stderr);
        return 2;
    }
    sidik_simd_level level;
    const char *why = NULL;
    if (sidik_simd_choose_from_env(&level, &why) != 0)
        return 1;
    SIDIK_LOG_INFO("simd level chosen", "simd=%s", sidik_simd_level_name(level));
    SIDIK_LOG_ERROR("the gRPC ingest service is not implemented in this build", NULL);
    return 1;
}

/*
 * The libFuzzer entry point every fuzz target defines. Built with
 * -fsanitize=fuzzer, libFuzzer's main() calls it; in every other build
 * replay_main.c does, once per file of a corpus folder.
 */
#ifndef SIDIK_FUZZ_H
#define SIDIK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

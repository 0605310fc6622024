# The two commands: `make demo` and `make test`. Both install what is missing
# (apt-get, as root), configure and build. Everything else is plain CMake.

BUILD      ?= build
BUILD_SAN  ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build build-asan build-fuzz test test-fast test-asan fuzz demo bench clean

all: build

deps:
	@sh deploy/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIDIK_WERROR=ON $(CMAKE_ARGS)

$(BUILD_SAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DSIDIK_WERROR=ON \
	      -DSIDIK_SANITIZE=address,undefined $(CMAKE_ARGS)

# libFuzzer needs clang; the project's sanitizer flags and the fuzz targets'
# -fsanitize=fuzzer combine into one ASan+UBSan+libFuzzer binary per target.
$(BUILD_FUZZ)/CMakeCache.txt:
	CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DSIDIK_WERROR=ON \
	      -DSIDIK_FUZZ=ON -DSIDIK_SANITIZE=address,undefined $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD_SAN) -j $(JOBS)

# Optimised build first, then the same suite under ASan+UBSan, then every
# fuzz target for FUZZ_SECONDS each.
test: test-fast test-asan fuzz

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE stress

test-asan: build-asan
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) -LE 'stress|nosan'

build-fuzz: deps $(BUILD_FUZZ)/CMakeCache.txt
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_all

# Each target starts from a copy of its checked-in seed corpus (so the run
# never rewrites tests/fuzz/corpus) and fails the build on any crash, leak,
# sanitizer report or out-of-memory; the input that did it is kept in
# $(BUILD_FUZZ)/artifacts/ to be added to the corpus once fixed.
fuzz: build-fuzz
	@mkdir -p $(BUILD_FUZZ)/artifacts
	@set -e; for f in $(BUILD_FUZZ)/bin/fuzz_*; do \
	    name=$${f##*/fuzz_}; \
	    work=$$(mktemp -d); \
	    cp tests/fuzz/corpus/$$name/* $$work/; \
	    echo "== $$f for $(FUZZ_SECONDS)s"; \
	    rc=0; ASAN_OPTIONS=detect_leaks=1 $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	        -print_final_stats=1 -artifact_prefix=$(BUILD_FUZZ)/artifacts/ $$work || rc=$$?; \
	    rm -rf $$work; \
	    if [ $$rc -ne 0 ]; then echo "$$f failed (exit $$rc); input in $(BUILD_FUZZ)/artifacts/"; exit 1; fi; \
	done

demo: build
	@sh deploy/demo.sh $(BUILD)

bench: build
	@for b in $(BUILD)/bin/bench_*; do echo "== $$b"; $$b || exit 1; done
	@echo "== bench/loadgen.sh"; BIN=$(BUILD)/bin sh bench/loadgen.sh

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ)

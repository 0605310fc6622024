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
# fuzz target for FUZZ_SECONDS, one per core at a time.
test: test-fast test-asan fuzz

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE stress

test-asan: build-asan
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) -LE 'stress|nosan'

build-fuzz: deps $(BUILD_FUZZ)/CMakeCache.txt
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_all

# Every fuzz target for FUZZ_SECONDS, JOBS of them at a time (each is one
# process on one core); tests/fuzz/run.sh says what counts as a failure.
fuzz: build-fuzz
	@mkdir -p $(BUILD_FUZZ)/artifacts
	@ls $(BUILD_FUZZ)/bin/fuzz_* | xargs -P $(JOBS) -I{} \
	    sh tests/fuzz/run.sh {} $(FUZZ_SECONDS) $(BUILD_FUZZ)/artifacts

demo: build
	@sh deploy/demo.sh $(BUILD)

bench: build
	@for b in $(BUILD)/bin/bench_*; do echo "== $$b"; $$b || exit 1; done
	@echo "== bench/loadgen.sh"; BIN=$(BUILD)/bin sh bench/loadgen.sh

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ)

# Finger minutiae record codecs (matcher/codec*.c), included from
# tests/CMakeLists.txt.
sidik_unit_test(test_matcher_codec unit/matcher/test_codec.c LIBS sidik_matcher)
sidik_unit_test(test_matcher_codec_formats unit/matcher/test_codec_formats.c LIBS sidik_matcher)

# The 320 real FVC2002 records live in shared/, which CI clones next to this
# repository (DESIGN.md, "Real data at hand"); the test skips with a message
# when the folder is absent rather than failing a checkout without it.
target_compile_definitions(test_matcher_codec PRIVATE
  SIDIK_FVC2002_DIR="${CMAKE_SOURCE_DIR}/../shared/data/fvc2002")

# The fuzz targets: their corpus replay runs in every build, the libFuzzer
# binaries build with -DSIDIK_FUZZ=ON (see tests/fuzz/CMakeLists.txt). The
# codec target is the first of them; this line can move to
# tests/CMakeLists.txt when a second decoder gets one.
add_subdirectory(fuzz)

# The packed form gallery shards store: round trips (synthetic persons from
# sidik_synth, the FVC2002 records) and malformed input.
sidik_unit_test(test_matcher_codec_pack unit/matcher/test_codec_pack.c LIBS sidik_matcher sidik_synth)
target_compile_definitions(test_matcher_codec_pack PRIVATE
  SIDIK_FVC2002_DIR="${CMAKE_SOURCE_DIR}/../shared/data/fvc2002")

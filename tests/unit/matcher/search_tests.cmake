# The search signature, gallery and cascade. Reaches the private scan
# kernels (matcher/sig_int.h) to compare every SIMD level with scalar, and
# the synthetic population for persons to enroll and search.
sidik_unit_test(test_matcher_search unit/matcher/test_search.c LIBS sidik_matcher sidik_synth m)
target_include_directories(test_matcher_search PRIVATE ${CMAKE_SOURCE_DIR}/matcher)

# The search signature, gallery and cascade. Reaches the private scan
# kernels (matcher/sig_int.h) to compare every SIMD level with scalar, and
# the synthetic population for persons to enroll and search.
sidik_unit_test(test_matcher_search unit/matcher/test_search.c LIBS sidik_matcher sidik_synth m)
target_include_directories(test_matcher_search PRIVATE ${CMAKE_SOURCE_DIR}/matcher)

# The signature's computation: every build against the baseline one, and
# against a double-precision reference.
sidik_unit_test(test_matcher_signature unit/matcher/test_signature.c LIBS sidik_matcher sidik_synth m)
target_include_directories(test_matcher_signature PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
target_compile_definitions(test_matcher_signature PRIVATE
  SIDIK_FVC2002_DIR="${CMAKE_SOURCE_DIR}/../shared/data/fvc2002")

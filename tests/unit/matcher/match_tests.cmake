# The 1:1 matcher, run once per SIMD level (SIDIK_SIMD picks the level under
# test; the scalar oracle is the reference in every run). A level this CPU
# lacks reports "skipped" (exit 77), never a pass.
foreach(level scalar sse42 avx2 avx512)
  set(name test_matcher_match_${level})
  if(NOT TARGET test_matcher_match)
    sidik_unit_test(test_matcher_match unit/matcher/test_match.c LIBS sidik_matcher)
    target_include_directories(test_matcher_match PRIVATE ${CMAKE_SOURCE_DIR}/matcher)
    target_compile_definitions(test_matcher_match PRIVATE
      SIDIK_FVC2002_DIR="${CMAKE_SOURCE_DIR}/../shared/data/fvc2002")
    set_tests_properties(test_matcher_match PROPERTIES ENVIRONMENT "SIDIK_SIMD=scalar")
  else()
    add_test(NAME ${name} COMMAND test_matcher_match)
    set_tests_properties(${name} PROPERTIES LABELS "unit" TIMEOUT 300 SKIP_RETURN_CODE 77
                                            ENVIRONMENT "SIDIK_SIMD=${level}")
  endif()
endforeach()

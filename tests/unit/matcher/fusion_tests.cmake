# Multi-finger score fusion and the FPIR threshold (matcher/fusion.c),
# included from tests/CMakeLists.txt.
sidik_unit_test(test_matcher_fusion unit/matcher/test_fusion.c LIBS sidik_matcher m)

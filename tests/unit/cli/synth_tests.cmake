# `sidik gen`: the synthetic population library (unit: determinism, the
# model's statistics, records that decode, the plan, genuine above impostor
# with the real matcher) and the command end to end (integration: hostile
# command lines, refusals, byte-identical reruns, truth.csv against the
# records, and --calibrate's shape on the FVC2002 templates when present).
sidik_unit_test(test_cli_synth unit/cli/test_synth.c LIBS sidik_synth sidik_matcher sidik_common)

add_test(NAME cli_gen COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_gen.sh $<TARGET_FILE:sidik>
                              ${CMAKE_SOURCE_DIR}/../shared/data/fvc2002)
set_tests_properties(cli_gen PROPERTIES LABELS "integration" TIMEOUT 600)

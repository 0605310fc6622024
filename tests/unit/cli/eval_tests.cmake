# `sidik eval`: the FVC error rates (unit) and the command end to end on
# hostile folders and the FVC2002 templates (integration; the data lives
# beside the repository and the script skips that part when it is absent).
sidik_unit_test(test_cli_fvc_metrics unit/cli/test_fvc_metrics.c LIBS sidik_cli_eval sidik_common)

add_test(NAME cli_eval COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_eval.sh $<TARGET_FILE:sidik>
                               ${CMAKE_SOURCE_DIR}/../shared/data/fvc2002)
set_tests_properties(cli_eval PROPERTIES LABELS "integration" TIMEOUT 600)

# What the commands print: tables, JSON and CSV strings, times.
sidik_unit_test(test_cli_out unit/cli/test_out.c LIBS sidik_cli_out sidik_common)

# The office spool behind `sidik upload` (cli/spool.h): unit tests, and the
# SIGKILL harness (60 kills here, 1,000 under `stress`). Both borrow the
# storage tests' scratch folders and raw LMDB writes (storage_test.h).
sidik_unit_test(test_cli_spool unit/cli/test_spool.c LIBS sidik_cli_spool)
target_include_directories(test_cli_spool PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)
sidik_unit_test(test_cli_spool_crash unit/cli/test_spool_crash.c LIBS sidik_cli_spool)
target_include_directories(test_cli_spool_crash PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)
add_test(NAME test_cli_spool_crash_stress COMMAND test_cli_spool_crash)
set_tests_properties(test_cli_spool_crash_stress PROPERTIES LABELS "stress" TIMEOUT 3600
                     ENVIRONMENT SIDIK_SPOOL_KILLS=1000)

# The journal: unit tests on both I/O backends, and the SIGKILL harness.
sidik_unit_test(test_storage_journal unit/storage/test_journal.c LIBS sidik_storage Threads::Threads)
target_include_directories(test_storage_journal PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)

sidik_unit_test(test_storage_journal_crash unit/storage/test_journal_crash.c LIBS sidik_storage)
target_include_directories(test_storage_journal_crash PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)
# The same harness with ten times the kills, outside `make test`.
add_test(NAME test_storage_journal_crash_stress COMMAND test_storage_journal_crash)
set_tests_properties(test_storage_journal_crash_stress PROPERTIES LABELS "stress" TIMEOUT 3600
                     ENVIRONMENT SIDIK_CRASH_KILLS=2000)

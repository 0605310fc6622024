# Gallery shards (LMDB), with synthetic persons to store.
sidik_unit_test(test_storage_shard unit/storage/test_shard.c LIBS sidik_storage sidik_synth)
target_include_directories(test_storage_shard PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)

# The whole store (journal, control, shards) under SIGKILL; more kills under `stress`.
sidik_unit_test(test_storage_store_crash unit/storage/test_store_crash.c LIBS sidik_storage sidik_synth)
target_include_directories(test_storage_store_crash PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)
add_test(NAME test_storage_store_crash_stress COMMAND test_storage_store_crash)
set_tests_properties(test_storage_store_crash_stress PROPERTIES LABELS "stress" TIMEOUT 3600
                     ENVIRONMENT SIDIK_CRASH_KILLS=2000)

# Gallery shards (LMDB), with synthetic persons to store.
sidik_unit_test(test_storage_shard unit/storage/test_shard.c LIBS sidik_storage sidik_synth)
target_include_directories(test_storage_shard PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)

# The control store (LMDB).
sidik_unit_test(test_storage_control unit/storage/test_control.c LIBS sidik_storage)
target_include_directories(test_storage_control PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)

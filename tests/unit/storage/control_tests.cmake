# The control store (LMDB).
sidik_unit_test(test_storage_control unit/storage/test_control.c LIBS sidik_storage)
target_include_directories(test_storage_control PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)
# Its format-2 indexes: decisions in decision order, the review queue, waiting verdicts.
sidik_unit_test(test_storage_control_find unit/storage/test_control_find.c LIBS sidik_storage)
target_include_directories(test_storage_control_find PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)
# Signed print authorisations (payload, Ed25519, key files).
sidik_unit_test(test_storage_print_auth unit/storage/test_print_auth.c LIBS sidik_storage)
target_include_directories(test_storage_print_auth PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)

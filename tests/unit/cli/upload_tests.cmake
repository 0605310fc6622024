# `sidik upload` (cli/upload.h): captures made from `sidik gen` records and
# read from a station's folder, hostile files included (unit); the whole
# uploader against a live sidikd through the fault proxy (integration).
sidik_unit_test(test_cli_upload_capture unit/cli/test_upload_capture.c LIBS sidik_cli_upload)
target_include_directories(test_cli_upload_capture PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/storage)
add_test(NAME cli_upload COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_upload.sh
                                 $<TARGET_FILE:sidikd> $<TARGET_FILE:sidik> ${CMAKE_SOURCE_DIR})
set_tests_properties(cli_upload PROPERTIES LABELS "integration" TIMEOUT 300)

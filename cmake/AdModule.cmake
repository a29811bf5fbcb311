# Helpers that keep each module's CMakeLists.txt to a few declarations, in the
# spirit of Abseil's absl_cc_library / absl_cc_test.
#
#   ad_library(NAME envs SRCS a.cc b.cc DEPS ad_common absl::status)
#     -> static library `ad_envs`, include root is the repository root.
#   ad_test(NAME envs SRCS a_test.cc DEPS ad_envs [LABELS slow])
#     -> gtest binary `ad_envs_test`; its tests are registered with ctest as
#        `envs.Suite.Name` (so `ctest -R '^envs\.'` selects a module) and labelled `envs`.
#   ad_binary(NAME ad-store SRCS main.cc DEPS ...)
#     -> executable `ad-store` in ${CMAKE_BINARY_DIR}/bin.
#   ad_add_subfolders([EXCEPT testing ...])
#     -> add_subdirectory for each subfolder (sorted) with a CMakeLists.txt;
#        a subfolder's contents changing re-runs the configure step.
#
# Project code builds with warnings as errors; third-party headers come in
# through imported targets and are therefore SYSTEM includes.

include(GoogleTest)

function(ad_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter
                                           $<$<BOOL:${AD_WERROR}>:-Werror>)
  # GCC 12 with -fsanitize=address,undefined reports maybe-uninitialized
  # inside LibTorch's c10/util/intrusive_ptr.h (a header we do not own), which
  # stopped the sanitizer build at learner/model.cc. Still a warning there.
  if(AD_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
  endif()
endfunction()

function(ad_library)
  cmake_parse_arguments(AD "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(ad_${AD_NAME} STATIC ${AD_SRCS})
  target_include_directories(ad_${AD_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(ad_${AD_NAME} PUBLIC ${AD_DEPS})
  ad_apply_warnings(ad_${AD_NAME})
endfunction()

function(ad_test)
  cmake_parse_arguments(AD "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT AD_TIMEOUT)
    set(AD_TIMEOUT 300)
  endif()
  add_executable(ad_${AD_NAME}_test ${AD_SRCS})
  target_link_libraries(ad_${AD_NAME}_test PRIVATE ${AD_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  ad_apply_warnings(ad_${AD_NAME}_test)
  gtest_discover_tests(ad_${AD_NAME}_test
    TEST_PREFIX "${AD_NAME}."
    DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${AD_TIMEOUT} LABELS "${AD_NAME};${AD_LABELS}"
               ENVIRONMENT "AD_BIN_DIR=${CMAKE_BINARY_DIR}/bin;AD_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

function(ad_binary)
  cmake_parse_arguments(AD "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${AD_NAME} ${AD_SRCS})
  target_link_libraries(${AD_NAME} PRIVATE ${AD_DEPS})
  set_target_properties(${AD_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  ad_apply_warnings(${AD_NAME})
endfunction()

function(ad_bench)
  cmake_parse_arguments(AD "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(ad_bench_${AD_NAME} ${AD_SRCS})
  target_link_libraries(ad_bench_${AD_NAME} PRIVATE ${AD_DEPS})
  set_target_properties(ad_bench_${AD_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  ad_apply_warnings(ad_bench_${AD_NAME})
endfunction()

function(ad_add_subfolders)
  cmake_parse_arguments(AD "" "" "EXCEPT" ${ARGN})
  file(GLOB children RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(child IN_LIST AD_EXCEPT)
      continue()
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${child})
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()

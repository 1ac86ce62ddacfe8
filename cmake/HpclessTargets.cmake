# Per-target defaults: language level, warnings as errors, optional sanitizers and unity builds.
# Every hpcless target calls hpcless_target_defaults(); nothing is set globally.

function(hpcless_target_defaults target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_compile_features(${target} INTERFACE cxx_std_20)
    return()
  endif()
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
  # GCC 12 reports false -Wrestrict errors inside libstdc++ for ordinary std::string
  # concatenation at -O2/-O3 (GCC bug 105329, fixed in GCC 13); the warning is off for GCC 12 only.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(HPCLESS_SANITIZE)
    # -g1 (line tables only) after Debug's -g: sanitizer reports keep file:line in every frame,
    # and the build skips full debug info, measured to cut its compile time by about 30%.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined -g1)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(HPCLESS_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON)
    # GCC applies -Wsubobject-linkage (a class with a member of a type from an anonymous
    # namespace) to classes defined outside the main file, meant for headers; in a unity build
    # every source is an included file. Builds without HPCLESS_UNITY_BUILD keep the warning.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
    endif()
  endif()
endfunction()

# Libraries keep headers next to their sources; consumers include "comm/..." etc. from the
# repository root, which each library exports as its own include directory.
function(hpcless_add_library target)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${target} STATIC ${ARG_SOURCES})
  target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  hpcless_target_defaults(${target})
endfunction()

# Control-path code (tests, the CLI driver): -O1 instead of the build type's -O2/-O3. Its run
# time is spent waiting on the code under test, which keeps the build type's level; its build
# time is dominated by optimising template-heavy option parsing, JSON and GoogleTest code
# (measured: cluster_command.cpp 15.3 s at -O3, 9.1 s at -O1). Debug builds are left alone.
function(hpcless_control_code target)
  target_compile_options(${target} PRIVATE $<$<OR:$<CONFIG:Release>,$<CONFIG:RelWithDebInfo>>:-O1>)
endfunction()

# Test executables by ctest label. Every executable whose tests carry <label> is registered here;
# tests/CMakeLists.txt turns the lists into the targets hpcless_tests_<label>, which build exactly
# what `ctest -L <label>` runs (the executables, and through their add_dependencies the programs
# and packages they start). Configure fails if a GoogleTest executable is not registered.
function(hpcless_test_executable target label)
  set_property(GLOBAL APPEND PROPERTY HPCLESS_TEST_LABELS ${label})
  set_property(GLOBAL APPEND PROPERTY HPCLESS_TEST_EXECUTABLES_${label} ${target})
endfunction()

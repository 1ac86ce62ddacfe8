# Runs one libFuzzer binary for a bounded time on a fresh corpus in the build tree.
# Fails (and names the reproducer) when the fuzzer reports a crash, leak, timeout or OOM.
#
# cmake -DFUZZER=<binary> -DWORK_DIR=<dir> -DSECONDS=<n>
#       [-DSEED_GENERATOR=<program writing seeds into a directory>] [-DSEED_DIR=<dir>]
#       [-DDICT=<libFuzzer dictionary>] -P run_fuzzer.cmake

foreach(var IN ITEMS FUZZER WORK_DIR SECONDS)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

# A fresh copy every run: results do not depend on what earlier runs happened to find.
set(corpus "${WORK_DIR}/corpus")
set(artifacts "${WORK_DIR}/artifacts")
file(REMOVE_RECURSE "${corpus}" "${artifacts}")
file(MAKE_DIRECTORY "${corpus}" "${artifacts}")

if(DEFINED SEED_DIR AND IS_DIRECTORY "${SEED_DIR}")
  file(GLOB committed_seeds "${SEED_DIR}/*")
  if(committed_seeds)
    file(COPY ${committed_seeds} DESTINATION "${corpus}")
  endif()
endif()
if(DEFINED SEED_GENERATOR AND NOT "${SEED_GENERATOR}" STREQUAL "")
  execute_process(COMMAND "${SEED_GENERATOR}" "${corpus}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "seed generator ${SEED_GENERATOR} failed: ${rc}")
  endif()
endif()

set(args -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         "-artifact_prefix=${artifacts}/")
if(DEFINED DICT AND EXISTS "${DICT}")
  list(APPEND args "-dict=${DICT}")
endif()

message(STATUS "fuzzing for ${SECONDS} s: ${FUZZER} ${args} ${corpus}")
execute_process(COMMAND "${FUZZER}" ${args} "${corpus}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found "${artifacts}/*")
  message(FATAL_ERROR "fuzzer ${FUZZER} failed (exit ${rc}). Reproducer(s): ${found}\n"
                      "Replay one with: ${FUZZER} <file>")
endif()

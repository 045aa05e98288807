# CqTesting.cmake — helpers that register tests with ctest.
#
# Labels: unit (no I/O), integration (real PostgreSQL/Kafka/servers), e2e (the whole system).
# Tests that need the stack list the fixture `stack`; tests that need the three programs
# running list `services` (tests/CMakeLists.txt defines both fixtures).
#
#   cq_unit_test(NAME name SOURCES a.c b.c [LIBS x y])
#       builds a cmocka test executable and registers it with label `unit`.
#   cq_integration_test(NAME name SOURCES ... [LIBS ...] [FIXTURES stack services] [LABEL e2e])
#       same, but with label `integration` (or LABEL) and the fixtures it needs.
#   cq_script_test(NAME name COMMAND cmd args... [FIXTURES ...] [LABEL ...])
#       registers a script (bash/python) as a test.

function(cq_unit_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE cqcommon cqtestsupport PkgConfig::CMOCKA ${T_LIBS})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

function(cq_integration_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "LABEL;SOURCES;LIBS;FIXTURES" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL integration)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE cqcommon cqtestsupport PkgConfig::CMOCKA ${T_LIBS})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABEL}" TIMEOUT ${T_TIMEOUT}
                       FIXTURES_REQUIRED "${T_FIXTURES}" RESOURCE_LOCK stack
                       ENVIRONMENT "${CQ_TEST_ENV}")
endfunction()

function(cq_script_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "LABEL;COMMAND;FIXTURES" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL integration)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABEL}" TIMEOUT ${T_TIMEOUT}
                       FIXTURES_REQUIRED "${T_FIXTURES}" RESOURCE_LOCK stack
                       ENVIRONMENT "${CQ_TEST_ENV}")
endfunction()

# The test stack is separate from the developer's local stack (scripts/stack.sh up), so a
# test run never touches the data or the ports of a stack someone is using: its own
# directory under the build tree and its own ports. Every fixed port a test listens on lies
# below Linux's ephemeral range (32768-60999), so no outgoing connection's source port can
# hold one when a server binds it; servers a test starts for itself take ts_free_port()
# (20000-24999); the fault suite's cluster sits in 26100-26199 (tests/faults/CMakeLists.txt).
# CQ_TEST_PORT_OFFSET (a multiple of 100, -200..400) moves all of these fixed ports, so several
# build trees can run their suites on one machine at once (no two offsets make two ports meet).
set(CQ_TEST_PORT_OFFSET 0 CACHE STRING "added to every fixed test port (a multiple of 100, -200..400)")
math(EXPR _cq_off_rem "${CQ_TEST_PORT_OFFSET} % 100")
if(NOT _cq_off_rem EQUAL 0 OR CQ_TEST_PORT_OFFSET LESS -200 OR CQ_TEST_PORT_OFFSET GREATER 400)
  message(FATAL_ERROR "CQ_TEST_PORT_OFFSET must be a multiple of 100 in -200..400 (got ${CQ_TEST_PORT_OFFSET})")
endif()
set(CQ_TEST_STACK_DIR ${CMAKE_BINARY_DIR}/test-stack)
math(EXPR CQ_TEST_PG_PORT "25433 + ${CQ_TEST_PORT_OFFSET}")
math(EXPR CQ_TEST_KAFKA_PORT "29092 + ${CQ_TEST_PORT_OFFSET}")
math(EXPR CQ_TEST_KAFKA_CONTROLLER_PORT "29093 + ${CQ_TEST_PORT_OFFSET}")
# Kafka's second listener on the machine's address, for the test cluster's pods (k8s_helm)
math(EXPR CQ_TEST_KAFKA_HOST_PORT "29094 + ${CQ_TEST_PORT_OFFSET}")
math(EXPR CQ_TEST_CONFIG_PORT "28888 + ${CQ_TEST_PORT_OFFSET}")
math(EXPR CQ_TEST_CUSTOMER_PORT "28184 + ${CQ_TEST_PORT_OFFSET}")
math(EXPR CQ_TEST_ORDER_PORT "28181 + ${CQ_TEST_PORT_OFFSET}")
set(CQ_TEST_ENV
  "CQ_STACK_DIR=${CQ_TEST_STACK_DIR}"
  "CQ_PG_PORT=${CQ_TEST_PG_PORT}"
  "CQ_KAFKA_PORT=${CQ_TEST_KAFKA_PORT}"
  "CQ_KAFKA_CONTROLLER_PORT=${CQ_TEST_KAFKA_CONTROLLER_PORT}"
  "CQ_KAFKA_HOST_PORT=${CQ_TEST_KAFKA_HOST_PORT}"
  "CQ_CONFIG_PORT=${CQ_TEST_CONFIG_PORT}"
  "CQ_CUSTOMER_PORT=${CQ_TEST_CUSTOMER_PORT}"
  "CQ_ORDER_PORT=${CQ_TEST_ORDER_PORT}"
  "CQ_TEST_PORT_OFFSET=${CQ_TEST_PORT_OFFSET}"
  "CQ_PROFILE=test"
  # the stack's config-server serves config-repo/ from a git repository (stack.sh CQ_CONFIG_GIT),
  # so every e2e test also runs the services on the git backend
  "CQ_CONFIG_GIT=1"
  "CQ_BIN_DIR=${CMAKE_BINARY_DIR}/bin"
  "CQ_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "CQ_PG_CONNINFO=host=127.0.0.1 port=${CQ_TEST_PG_PORT} user=postgres dbname=cqrs"
  "CQ_KAFKA_BOOTSTRAP=127.0.0.1:${CQ_TEST_KAFKA_PORT}"
  "CQ_CONFIG_URL=http://127.0.0.1:${CQ_TEST_CONFIG_PORT}"
  "CQ_CUSTOMER_URL=http://127.0.0.1:${CQ_TEST_CUSTOMER_PORT}"
  "CQ_ORDER_URL=http://127.0.0.1:${CQ_TEST_ORDER_PORT}"
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  "LSAN_OPTIONS=print_suppressions=0")
# All programs land in build/bin so the stack script finds them.
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin CACHE PATH "" FORCE)

# nn_metrics_library(<target>): the metrics.json reader (metrics_json.c,
# metrics.h) as a static library of its own. It needs only libc and nn.h's
# types, so the fuzz build (tests/fuzz) makes an instrumented copy of it
# without the examples.
include_guard(GLOBAL)
set(NN_METRICS_DIR ${CMAKE_CURRENT_LIST_DIR})

function(nn_metrics_library target)
  add_library(${target} STATIC ${NN_METRICS_DIR}/metrics_json.c)
  target_include_directories(${target} PUBLIC ${NN_METRICS_DIR}
    ${PROJECT_SOURCE_DIR}/include)
endfunction()

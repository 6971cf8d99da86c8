# Finds every supported Go toolchain by asking it, and builds the Go test programs with each.
#
#   gorepro_go_program(NAME sendleak DIR ${CMAKE_CURRENT_SOURCE_DIR}/sendleak [STRIPPED] [PIE])
#
#   gorepro_go_test_program(NAME hedgetest DIR ${CMAKE_CURRENT_SOURCE_DIR}/hedgetest)
#
# produces ${GOREPRO_GO_OUT}/go1.NN/sendleak for each toolchain found (for a test package,
# go1.NN/hedgetest.test, built with `go test -c` as a user hands a flaky test to `gorepro
# repro`); with STRIPPED also .../sendleak.stripped (-ldflags=-s -w), with PIE also .../sendleak.pie (-buildmode=pie). Build
# only the variants some test runs. Each program directory is a stdlib-only module (its own
# go.mod). GOTOOLCHAIN=local and GOPROXY=off, so a build never downloads anything. Ninja runs
# the builds in parallel (one custom command per binary); they share GOREPRO_GO_CACHE.
#
# Toolchains (GOREPRO_GO_TOOLCHAINS): each entry is a command that runs a `go` — `go` on PATH,
# `GOTOOLCHAIN=go1.27.3 go` (fetched by scripts/setup.sh), Debian's `golang-1.NN-go` packages.
# Each is asked `go env GOVERSION GOROOT`: its version is what it answers, never what its entry
# says, and the build runs $GOROOT/bin/go. GOREPRO_GO_VERSIONS lists the minors the test suite
# must cover; a missing one is a configure warning and failing tests, not a skip.
# A fact of the project, not an option: a cached value would outlive the next supported release.
unset(GOREPRO_GO_VERSIONS CACHE)
set(GOREPRO_GO_VERSIONS "1.19;1.21;1.22;1.23;1.26;1.27")
set(GOREPRO_GO_TOOLCHAINS "go;GOTOOLCHAIN=go1.27.3 go;debian:1.19;debian:1.21;debian:1.22;debian:1.23"
    CACHE STRING "Commands that run a Go toolchain (debian:1.NN = the golang-1.NN-go package's go)")
set(GOREPRO_GO_OUT ${CMAKE_BINARY_DIR}/go-programs)
# Go's build cache is content-addressed and safe to share: every build tree (a developer's
# worktrees, a fresh CI clone) builds each standard-library package once per toolchain and
# machine, not once per tree — six toolchains' net/http is minutes on two cores.
if(DEFINED ENV{HOME})
  set(_go_cache_default "$ENV{HOME}/.cache/gorepro/go")
else()
  set(_go_cache_default "${CMAKE_BINARY_DIR}/go-cache")
endif()
set(GOREPRO_GO_CACHE ${_go_cache_default} CACHE PATH "GOCACHE root for the Go test programs (go1.NN below it)")

# Asks one toolchain command for its version and GOROOT; sets ${out_version} (1.NN) and
# ${out_goroot}, or leaves them empty when it does not answer.
function(_gorepro_ask_go entry out_version out_goroot)
  set(${out_version} "" PARENT_SCOPE)
  set(${out_goroot} "" PARENT_SCOPE)
  set(env "")
  set(go go)
  if(entry MATCHES "^debian:(1\\.[0-9]+)$")
    # The package installs its toolchain as its own GOROOT; dpkg says where.
    execute_process(COMMAND dpkg-query -L golang-${CMAKE_MATCH_1}-go OUTPUT_VARIABLE files
                    RESULT_VARIABLE rc ERROR_QUIET)
    if(NOT rc EQUAL 0 OR NOT files MATCHES "(/[^\n]*)/bin/go\n")
      return()
    endif()
    set(go "${CMAKE_MATCH_1}/bin/go")
  else()
    separate_arguments(words UNIX_COMMAND "${entry}")
    foreach(w IN LISTS words)
      if(w MATCHES "^[A-Z_]+=")
        list(APPEND env "${w}")
      else()
        set(go "${w}")
      endif()
    endforeach()
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${env} ${go} env GOVERSION GOROOT
                  OUTPUT_VARIABLE answer RESULT_VARIABLE rc ERROR_QUIET TIMEOUT 120)
  if(NOT rc EQUAL 0 OR NOT answer MATCHES "^go(1\\.[0-9]+)[^\n]*\n([^\n]+)")
    return()
  endif()
  set(${out_version} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  set(${out_goroot} "${CMAKE_MATCH_2}" PARENT_SCOPE)
endfunction()

set(GOREPRO_GO_FOUND_VERSIONS "")
if(GOREPRO_GO_TESTS)  # off e.g. in the sanitizer build, which runs unit tests only
  foreach(entry IN LISTS GOREPRO_GO_TOOLCHAINS)
    _gorepro_ask_go("${entry}" v goroot)
    if(v AND v IN_LIST GOREPRO_GO_VERSIONS AND NOT DEFINED GOREPRO_GOROOT_${v})
      set(GOREPRO_GOROOT_${v} "${goroot}")
      set(GOREPRO_GO_BIN_${v} "${goroot}/bin/go")
    endif()
  endforeach()
  foreach(v IN LISTS GOREPRO_GO_VERSIONS)  # in GOREPRO_GO_VERSIONS order, oldest first
    if(DEFINED GOREPRO_GOROOT_${v})
      list(APPEND GOREPRO_GO_FOUND_VERSIONS ${v})
    else()
      message(WARNING "gorepro: no Go ${v} toolchain answered among ${GOREPRO_GO_TOOLCHAINS} — run scripts/setup.sh; tests for it will fail")
    endif()
  endforeach()
  message(STATUS "gorepro: Go toolchains: ${GOREPRO_GO_FOUND_VERSIONS}")
endif()
# For scripts (gen-layout-table.sh): "1.NN GOROOT GOCACHE" per toolchain found.
set(_go_lines "")
foreach(v IN LISTS GOREPRO_GO_FOUND_VERSIONS)
  string(APPEND _go_lines "${v} ${GOREPRO_GOROOT_${v}} ${GOREPRO_GO_CACHE}/go${v}\n")
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/go-toolchains.txt "${_go_lines}")

if(NOT TARGET go_programs)
  add_custom_target(go_programs ALL)
endif()

# One `go build` of the program in dir with toolchain 1.NN into out (one custom command per
# binary, so ninja links them in parallel: a link is most of the cost with a warm cache).
function(_gorepro_go_build v dir out flags deps)
  set(verb build)
  set(what build)
  if(flags STREQUAL "test")  # `go test -c`: the package's tests as one program
    set(verb test -c)
    set(what "test -c")
    set(flags "")
  endif()
  set(env
    GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GO111MODULE=on GOPROXY=off CGO_ENABLED=0
    GOCACHE=${GOREPRO_GO_CACHE}/go${v} GOPATH=${CMAKE_BINARY_DIR}/gopath)
  get_filename_component(name ${out} NAME)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E env ${env} ${GOREPRO_GO_BIN_${v}} ${verb} ${flags} -o ${out} .
    WORKING_DIRECTORY ${dir}
    DEPENDS ${deps}
    COMMENT "go${v} ${what} ${name}"
    VERBATIM)
endfunction()

function(gorepro_go_program)
  # EXTRA_DEPENDS: files outside DIR the program builds from (a package pulled in through a
  # go.mod replace directive), so editing them rebuilds it.
  cmake_parse_arguments(GP "STRIPPED;PIE" "NAME;DIR" "EXTRA_DEPENDS" ${ARGN})
  if(NOT GP_NAME OR NOT GP_DIR)
    message(FATAL_ERROR "gorepro_go_program needs NAME and DIR")
  endif()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${GP_DIR}/*.go ${GP_DIR}/go.mod)
  set(outputs "")
  foreach(v IN LISTS GOREPRO_GO_FOUND_VERSIONS)
    set(out ${GOREPRO_GO_OUT}/go${v}/${GP_NAME})
    _gorepro_go_build(${v} ${GP_DIR} ${out} "" "${sources};${GP_EXTRA_DEPENDS}")
    list(APPEND outputs ${out})
    # The variants wait for the plain build: it fills the cache with the compiled packages they
    # only link differently (two concurrent cold builds would each compile them).
    if(GP_STRIPPED)
      _gorepro_go_build(${v} ${GP_DIR} ${out}.stripped "-ldflags=-s -w" "${sources};${GP_EXTRA_DEPENDS};${out}")
      list(APPEND outputs ${out}.stripped)
    endif()
    if(GP_PIE)  # -buildmode=pie compiles the packages again (position-independent), in its own time
      _gorepro_go_build(${v} ${GP_DIR} ${out}.pie "-buildmode=pie" "${sources};${GP_EXTRA_DEPENDS};${out}")
      list(APPEND outputs ${out}.pie)
    endif()
  endforeach()
  add_custom_target(go_${GP_NAME} DEPENDS ${outputs})
  add_dependencies(go_programs go_${GP_NAME})
endfunction()

function(gorepro_go_test_program)
  cmake_parse_arguments(GP "" "NAME;DIR" "" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${GP_DIR}/*.go ${GP_DIR}/go.mod)
  set(outputs "")
  foreach(v IN LISTS GOREPRO_GO_FOUND_VERSIONS)
    set(out ${GOREPRO_GO_OUT}/go${v}/${GP_NAME}.test)
    _gorepro_go_build(${v} ${GP_DIR} ${out} "test" "${sources}")
    list(APPEND outputs ${out})
  endforeach()
  add_custom_target(go_${GP_NAME} DEPENDS ${outputs})
  add_dependencies(go_programs go_${GP_NAME})
endfunction()

# The demo's program: NAME built with the newest toolchain found into ${GOREPRO_GO_OUT}/demo/NAME,
# by target go_demo only (scripts/demo.sh builds go_demo and gorepro, nothing else).
function(gorepro_go_demo_program)
  cmake_parse_arguments(GP "" "NAME;DIR" "EXTRA_DEPENDS" ${ARGN})
  if(NOT GOREPRO_GO_FOUND_VERSIONS)
    return()
  endif()
  list(GET GOREPRO_GO_FOUND_VERSIONS -1 newest)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${GP_DIR}/*.go ${GP_DIR}/go.mod)
  set(out ${GOREPRO_GO_OUT}/demo/${GP_NAME})
  _gorepro_go_build(${newest} ${GP_DIR} ${out} "" "${sources};${GP_EXTRA_DEPENDS}")
  add_custom_target(go_demo DEPENDS ${out})
endfunction()

# Builds Go test programs with every supported Go toolchain found, plain and stripped.
#
#   gorepro_go_program(NAME sendleak DIR ${CMAKE_CURRENT_SOURCE_DIR}/sendleak [PIE])
#
# produces ${GOREPRO_GO_OUT}/go1.NN/sendleak and .../sendleak.stripped (-ldflags=-s -w) — and with
# PIE also .../sendleak.pie (-buildmode=pie) — for each
# toolchain in GOREPRO_GO_VERSIONS that exists under /usr/lib/go-1.NN. Each program directory is a
# stdlib-only module (its own go.mod). GOCACHE/GOPATH stay inside the build tree and
# GOTOOLCHAIN=local, so a build never downloads anything.
set(GOREPRO_GO_VERSIONS "1.19;1.21;1.22;1.23" CACHE STRING "Go toolchains to build test programs with")
set(GOREPRO_GO_ROOT_PATTERN "/usr/lib/go-@V@" CACHE STRING "Where toolchain 1.NN lives (@V@ = 1.NN)")
set(GOREPRO_GO_OUT ${CMAKE_BINARY_DIR}/go-programs)
# Go's build cache is content-addressed and safe to share: several build trees (a developer's
# worktrees, the sanitizer build) can point here at one directory and build each package once.
set(GOREPRO_GO_CACHE ${CMAKE_BINARY_DIR}/go-cache CACHE PATH "GOCACHE root for the Go test programs (go1.NN below it)")

set(GOREPRO_GO_FOUND_VERSIONS "")
set(_go_versions_to_build ${GOREPRO_GO_VERSIONS})
if(NOT GOREPRO_GO_TESTS)
  set(_go_versions_to_build "")  # e.g. the sanitizer build, which runs unit tests only
endif()
foreach(v IN LISTS _go_versions_to_build)
  string(REPLACE "@V@" "${v}" root "${GOREPRO_GO_ROOT_PATTERN}")
  if(EXISTS "${root}/bin/go")
    list(APPEND GOREPRO_GO_FOUND_VERSIONS ${v})
    set(GOREPRO_GO_BIN_${v} "${root}/bin/go")
  else()
    message(WARNING "gorepro: Go ${v} not found at ${root}/bin/go — run scripts/setup.sh; tests for it will fail")
  endif()
endforeach()

if(NOT TARGET go_programs)
  add_custom_target(go_programs ALL)
endif()

function(gorepro_go_program)
  # EXTRA_DEPENDS: files outside DIR the program builds from (a package pulled in through a
  # go.mod replace directive), so editing them rebuilds it.
  cmake_parse_arguments(GP "PIE" "NAME;DIR" "EXTRA_DEPENDS" ${ARGN})
  if(NOT GP_NAME OR NOT GP_DIR)
    message(FATAL_ERROR "gorepro_go_program needs NAME and DIR")
  endif()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${GP_DIR}/*.go ${GP_DIR}/go.mod)
  set(outputs "")
  foreach(v IN LISTS GOREPRO_GO_FOUND_VERSIONS)
    set(outdir ${GOREPRO_GO_OUT}/go${v})
    set(env
      GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GO111MODULE=on GOPROXY=off CGO_ENABLED=0
      GOCACHE=${GOREPRO_GO_CACHE}/go${v} GOPATH=${CMAKE_BINARY_DIR}/gopath)
    set(pie_outputs "")
    set(pie_command "")
    if(GP_PIE)
      set(pie_outputs ${outdir}/${GP_NAME}.pie)
      set(pie_command COMMAND ${CMAKE_COMMAND} -E env ${env} ${GOREPRO_GO_BIN_${v}} build -buildmode=pie
                      -o ${outdir}/${GP_NAME}.pie .)
    endif()
    add_custom_command(
      OUTPUT ${outdir}/${GP_NAME} ${outdir}/${GP_NAME}.stripped ${pie_outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${outdir}
      COMMAND ${CMAKE_COMMAND} -E env ${env} ${GOREPRO_GO_BIN_${v}} build -o ${outdir}/${GP_NAME} .
      COMMAND ${CMAKE_COMMAND} -E env ${env} ${GOREPRO_GO_BIN_${v}} build -ldflags=-s\ -w -o ${outdir}/${GP_NAME}.stripped .
      ${pie_command}
      WORKING_DIRECTORY ${GP_DIR}
      DEPENDS ${sources} ${GP_EXTRA_DEPENDS}
      COMMENT "go${v} build ${GP_NAME} (plain + stripped${pie_outputs})"
      VERBATIM)
    list(APPEND outputs ${outdir}/${GP_NAME} ${outdir}/${GP_NAME}.stripped ${pie_outputs})
  endforeach()
  add_custom_target(go_${GP_NAME} DEPENDS ${outputs})
  add_dependencies(go_programs go_${GP_NAME})
endfunction()

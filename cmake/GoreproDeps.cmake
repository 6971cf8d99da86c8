# Finds every dependency from Debian packages. A missing one stops configuration with the
# package to install (scripts/setup.sh installs them all).
find_package(PkgConfig REQUIRED)

function(gorepro_require_pkg var module package)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "gorepro: ${module} not found — install the Debian package '${package}' (or run scripts/setup.sh)")
  endif()
endfunction()

function(gorepro_require_header var header package)
  find_path(${var} ${header})
  if(NOT ${var})
    message(FATAL_ERROR "gorepro: header ${header} not found — install the Debian package '${package}' (or run scripts/setup.sh)")
  endif()
endfunction()

function(gorepro_require_lib var name package)
  find_library(${var} ${name})
  if(NOT ${var})
    message(FATAL_ERROR "gorepro: library ${name} not found — install the Debian package '${package}' (or run scripts/setup.sh)")
  endif()
endfunction()

gorepro_require_pkg(LIBELF libelf libelf-dev)
gorepro_require_pkg(ZLIB_PC zlib zlib1g-dev)
gorepro_require_pkg(ZSTD libzstd libzstd-dev)
gorepro_require_pkg(CAPSTONE capstone libcapstone-dev)
gorepro_require_pkg(LIBUNWIND_PTRACE libunwind-ptrace libunwind-dev)
gorepro_require_pkg(FMT fmt libfmt-dev)
gorepro_require_pkg(LIBBPF libbpf libbpf-dev)
gorepro_require_pkg(LIBEDIT libedit libedit-dev)

# libdwarf 20210528 ships no pkg-config file on Debian 12; its headers live under libdwarf/.
gorepro_require_header(LIBDWARF_INCLUDE_DIR libdwarf/libdwarf.h libdwarf-dev)
gorepro_require_lib(LIBDWARF_LIBRARY dwarf libdwarf-dev)
add_library(gorepro_libdwarf INTERFACE)
target_include_directories(gorepro_libdwarf INTERFACE ${LIBDWARF_INCLUDE_DIR}/libdwarf)
target_link_libraries(gorepro_libdwarf INTERFACE ${LIBDWARF_LIBRARY} PkgConfig::LIBELF PkgConfig::ZLIB_PC)

find_package(Boost 1.74 CONFIG COMPONENTS filesystem)
if(NOT Boost_FOUND)
  message(FATAL_ERROR "gorepro: Boost (headers + filesystem) not found — install the Debian packages 'libboost-dev libboost-filesystem-dev'")
endif()

gorepro_require_header(CLI11_INCLUDE_DIR CLI/CLI.hpp libcli11-dev)
add_library(gorepro_cli11 INTERFACE)
target_include_directories(gorepro_cli11 INTERFACE ${CLI11_INCLUDE_DIR})

find_package(nlohmann_json 3 CONFIG)
if(NOT nlohmann_json_FOUND)
  message(FATAL_ERROR "gorepro: nlohmann-json not found — install the Debian package 'nlohmann-json3-dev'")
endif()

if(GOREPRO_TESTS)
  find_package(GTest CONFIG)
  if(NOT GTest_FOUND)
    message(FATAL_ERROR "gorepro: GoogleTest not found — install the Debian package 'libgtest-dev'")
  endif()
endif()

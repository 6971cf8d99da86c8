# BPF programs: compiled with clang -target bpf and turned into a libbpf skeleton header by
# bpftool at build time. GOREPRO_BPF_TOOLS is ON when both tools are found.
#
#   gorepro_bpf_skeleton(TARGET t SOURCE x.bpf.c NAME skel_name INCLUDES dir... DEPENDS file...)
#
# makes ${CMAKE_CURRENT_BINARY_DIR}/skel_name.skel.h, built by custom target t.
find_program(GOREPRO_CLANG NAMES clang clang-16 clang-15 clang-14)
find_program(GOREPRO_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin)
if(GOREPRO_CLANG AND GOREPRO_BPFTOOL)
  set(GOREPRO_BPF_TOOLS ON)
else()
  set(GOREPRO_BPF_TOOLS OFF)
endif()

function(gorepro_bpf_skeleton)
  cmake_parse_arguments(B "" "TARGET;SOURCE;NAME" "INCLUDES;DEPENDS" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR})
  set(includes "")
  # <asm/types.h> for <linux/types.h> lives in the multiarch include directory on Debian.
  if(CMAKE_LIBRARY_ARCHITECTURE)
    list(APPEND includes -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
  endif()
  foreach(dir IN LISTS B_INCLUDES)
    list(APPEND includes -I${dir})
  endforeach()
  add_custom_command(
    OUTPUT ${out}/${B_NAME}.skel.h ${out}/${B_NAME}.bpf.o
    COMMAND ${GOREPRO_CLANG} -g -O2 -target bpf -mcpu=v3 -Wall -Werror ${includes}
            -c ${B_SOURCE} -o ${out}/${B_NAME}.tmp.bpf.o
    COMMAND ${GOREPRO_BPFTOOL} gen object ${out}/${B_NAME}.bpf.o ${out}/${B_NAME}.tmp.bpf.o
    COMMAND sh -c "${GOREPRO_BPFTOOL} gen skeleton ${out}/${B_NAME}.bpf.o name ${B_NAME} > ${out}/${B_NAME}.skel.h.tmp"
    COMMAND ${CMAKE_COMMAND} -E rename ${out}/${B_NAME}.skel.h.tmp ${out}/${B_NAME}.skel.h
    DEPENDS ${B_SOURCE} ${B_DEPENDS}
    COMMENT "clang -target bpf + bpftool gen skeleton: ${B_SOURCE}"
    VERBATIM)
  add_custom_target(${B_TARGET} DEPENDS ${out}/${B_NAME}.skel.h)
endfunction()

# CqEmbed.cmake — embed data files (SQL migrations, Avro schemas) into a program.
#
#   cq_embed(TARGET tgt SYMBOL name FILES a.sql b.sql ...)
# generates a C file defining
#   const embed_file_t name[] = {{"a.sql", data, len}, ..., {NULL, NULL, 0}};
# (type from common/base/embed.h; the files in the order given, data NUL-terminated) and adds
# it to `tgt`. Editing a file re-generates the array.
function(cq_embed)
  cmake_parse_arguments(E "" "TARGET;SYMBOL" "FILES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embed_${E_SYMBOL}.c)
  set(abs "")
  foreach(f ${E_FILES})
    get_filename_component(a ${f} ABSOLUTE)
    list(APPEND abs ${a})
  endforeach()
  string(REPLACE ";" "|" files_arg "${abs}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${E_SYMBOL} "-DFILES=${files_arg}"
            -P ${CMAKE_SOURCE_DIR}/cmake/CqEmbedGen.cmake
    DEPENDS ${abs} ${CMAKE_SOURCE_DIR}/cmake/CqEmbedGen.cmake
    COMMENT "Embedding ${E_SYMBOL}" VERBATIM)
  target_sources(${E_TARGET} PRIVATE ${out})
endfunction()

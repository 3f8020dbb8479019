# Generates the API reference from the public headers, or checks it.
#
#   cmake -DHEADERS_DIR=include/stealpool -DOUTPUT=docs/API.md -P cmake/api_doc.cmake
#   cmake -DHEADERS_DIR=include/stealpool -DOUTPUT=docs/API.md -DCHECK=ON -P cmake/api_doc.cmake
#
# Every public function (a declaration of an sp_ name at the start of a line
# in a public header, outside the implementation-detail header) must be
# directly preceded by a comment block. The reference lists each function
# with its comment, header by header. With CHECK=ON the script fails when a
# function has no comment or when OUTPUT differs from what it would write.

if(NOT HEADERS_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "api_doc.cmake: set HEADERS_DIR and OUTPUT")
endif()

get_filename_component(HEADERS_DIR "${HEADERS_DIR}" ABSOLUTE)
get_filename_component(OUTPUT "${OUTPUT}" ABSOLUTE)
file(GLOB headers RELATIVE "${HEADERS_DIR}" "${HEADERS_DIR}/*.h")
list(SORT headers)
list(REMOVE_ITEM headers join_impl.h)

set(doc "# API reference\n\nGenerated from the comments in `include/stealpool/*.h` by\n`cmake/api_doc.cmake`; the test `api_doc_current` fails when this file\nis out of date or a public function has no comment.\n")
set(undocumented "")

foreach(header IN LISTS headers)
  # Semicolons separate CMake list items, so they travel as a placeholder.
  file(READ "${HEADERS_DIR}/${header}" content)
  string(REPLACE ";" "@SEMICOLON@" content "${content}")
  string(REPLACE "\n" ";" lines "${content}")
  string(APPEND doc "\n## `<stealpool/${header}>`\n")

  set(comment "")
  set(in_comment OFF)
  set(declaration "")
  foreach(line IN LISTS lines)
    string(REPLACE "@SEMICOLON@" ";" line "${line}")
    # Accumulate a multi-line declaration until its closing ");".
    if(declaration)
      string(STRIP "${line}" stripped)
      string(APPEND declaration " ${stripped}")
      if(line MATCHES "\\);")
        string(APPEND doc "\n```c\n${declaration}\n```\n${pending_comment}\n")
        set(declaration "")
      endif()
      continue()
    endif()

    if(in_comment)
      string(REGEX REPLACE "^ *\\*/? ?" "" text "${line}")
      string(REGEX REPLACE " *\\*/$" "" text "${text}")
      string(APPEND comment "${text}\n")
      if(line MATCHES "\\*/")
        set(in_comment OFF)
      endif()
      continue()
    endif()

    if(line MATCHES "^ */\\*")
      string(REGEX REPLACE "^ */\\*+ ?" "" text "${line}")
      string(REGEX REPLACE " *\\*/$" "" text "${text}")
      set(comment "${text}\n")
      if(NOT line MATCHES "\\*/")
        set(in_comment ON)
      endif()
      continue()
    endif()

    if(line MATCHES "^[a-z_0-9 ]*[ *](sp_[a-z_0-9]+)\\(")
      set(name "${CMAKE_MATCH_1}")
      string(STRIP "${comment}" stripped_comment)
      if(stripped_comment STREQUAL "")
        list(APPEND undocumented "${header}: ${name}")
      endif()
      string(REGEX REPLACE "\n+$" "" pending_comment "${comment}")
      string(STRIP "${line}" stripped)
      if(line MATCHES "\\);")
        string(APPEND doc "\n```c\n${stripped}\n```\n${pending_comment}\n")
      else()
        set(declaration "${stripped}")
      endif()
      set(comment "")
      continue()
    endif()

    # Any other non-blank line ends the comment that belongs to a function.
    if(NOT line MATCHES "^ *$")
      set(comment "")
    endif()
  endforeach()
endforeach()

if(undocumented)
  list(JOIN undocumented "\n  " text)
  message(FATAL_ERROR "public functions without a comment:\n  ${text}")
endif()

if(CHECK)
  file(READ "${OUTPUT}" current)
  if(NOT current STREQUAL doc)
    message(FATAL_ERROR "${OUTPUT} is out of date: regenerate it with\n"
      "  cmake -DHEADERS_DIR=include/stealpool -DOUTPUT=docs/API.md -P cmake/api_doc.cmake")
  endif()
else()
  file(WRITE "${OUTPUT}" "${doc}")
endif()

function(gencache_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion)
  if(GENCACHE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(GENCACHE_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
elseif(GENCACHE_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT GENCACHE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "GENCACHE_SANITIZE must be empty, 'address' or 'thread', not '${GENCACHE_SANITIZE}'")
endif()

# gencache_unity_build(TARGET BATCH_SIZE): compiles TARGET as unity files of BATCH_SIZE
# sources (0: one file) when GENCACHE_UNITY_BUILD is on. GCC takes a .cpp that a unity
# file includes for a header, and warns that a coroutine frame there holds a type of the
# file's anonymous namespace; in the file itself that is no warning.
function(gencache_unity_build target batch_size)
  if(NOT GENCACHE_UNITY_BUILD)
    return()
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${batch_size})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()

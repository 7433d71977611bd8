# Checks that include/gencache/version.hpp and CHANGELOG.md tell the same story. Run with
#   cmake -DCHANGELOG=<CHANGELOG.md> -DVERSION_HEADER=<version.hpp> -P changelog_version.cmake
# (-DVERSION=x.y.z instead of -DVERSION_HEADER checks a given version).
#
# The convention (Keep a Changelog, newest first):
#   - every `## ` heading is `## [Unreleased]` or `## [X.Y.Z] - YYYY-MM-DD`;
#   - `## [Unreleased]`, when present, is the first heading, and released versions
#     decrease downwards;
#   - when the newest heading is a release, version.hpp holds exactly that version;
#   - while `## [Unreleased]` is on top, version.hpp holds the version being prepared,
#     which is greater than every released one (any version before the first release).
# So a release is cut by renaming `## [Unreleased]` to `## [X.Y.Z] - date` with X.Y.Z the
# version already in version.hpp, and the next change after it bumps version.hpp again.
cmake_minimum_required(VERSION 3.25)

function(fail message)
  message(FATAL_ERROR "changelog check: ${message}")
endfunction()

if(NOT VERSION)
  file(READ "${VERSION_HEADER}" header)
  foreach(part MAJOR MINOR PATCH)
    if(NOT header MATCHES "#define GENCACHE_VERSION_${part} ([0-9]+)")
      fail("${VERSION_HEADER} does not define GENCACHE_VERSION_${part}")
    endif()
    list(APPEND parts "${CMAKE_MATCH_1}")
  endforeach()
  list(JOIN parts "." VERSION)
endif()

file(STRINGS "${CHANGELOG}" headings REGEX "^## ")
if(NOT headings)
  fail("${CHANGELOG} has no `## ` version headings")
endif()

set(position 0)
set(unreleased OFF)
set(newest_release "")
set(previous_release "")
foreach(heading IN LISTS headings)
  math(EXPR position "${position} + 1")
  if(heading STREQUAL "## [Unreleased]")
    if(NOT position EQUAL 1)
      fail("`## [Unreleased]` must be the first heading of ${CHANGELOG}")
    endif()
    set(unreleased ON)
  elseif(heading MATCHES "^## \\[([0-9]+\\.[0-9]+\\.[0-9]+)\\] - [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$")
    set(release "${CMAKE_MATCH_1}")
    if(previous_release AND NOT release VERSION_LESS previous_release)
      fail("release ${release} is listed below ${previous_release}: newest first, please")
    endif()
    if(NOT newest_release)
      set(newest_release "${release}")
    endif()
    set(previous_release "${release}")
  else()
    fail("malformed heading '${heading}': expected `## [Unreleased]` or `## [X.Y.Z] - YYYY-MM-DD`")
  endif()
endforeach()

if(NOT unreleased)
  if(NOT VERSION VERSION_EQUAL newest_release)
    fail("version.hpp says ${VERSION} but the newest release in CHANGELOG.md is ${newest_release}")
  endif()
elseif(newest_release AND NOT VERSION VERSION_GREATER newest_release)
  fail("version.hpp says ${VERSION}, but ${newest_release} is already released: bump version.hpp "
       "to the version that [Unreleased] will become")
endif()

if(unreleased AND newest_release)
  message(STATUS "CHANGELOG.md: [Unreleased] on top of ${newest_release}; version.hpp prepares ${VERSION}")
elseif(unreleased)
  message(STATUS "CHANGELOG.md: [Unreleased], no release yet; version.hpp prepares ${VERSION}")
else()
  message(STATUS "CHANGELOG.md: newest release ${newest_release} = version.hpp ${VERSION}")
endif()

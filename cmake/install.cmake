# SPDX-License-Identifier: MIT
# Install rules: the binary, the systemd unit, the man page and the configuration, all naming
# the same paths (MTASTSD_CONFDIR, MTASTSD_CONFIG_DEFAULT from CMakeLists.txt). Included by
# the top-level CMakeLists.txt after the mtastsd target.

# The unit's state folder (ReadWritePaths=, made by its ExecStartPre) is /var/lib/mtastsd
# whatever the prefix, and the installed config keeps its state there, so both agree under
# ProtectSystem=strict.
set(MTASTSD_STATEDIR /var/lib/mtastsd)
# Relative: under the prefix. systemd looks in /usr/lib/systemd/system and
# /usr/local/lib/systemd/system; other prefixes set it, e.g. -DSYSTEMD_UNITDIR=/etc/systemd/system.
set(SYSTEMD_UNITDIR lib/systemd/system CACHE STRING "folder of the installed systemd unit")

# mtastsd_subst(IN OUT [HEADER TEXT] REPLACE REGEX REPLACEMENT [REGEX REPLACEMENT]...): write
# OUT, which is TEXT followed by IN with each REGEX replaced. Each REGEX must match exactly once:
# an edit of IN that moves or doubles a matched line stops the configure instead of installing
# a source-tree path.
function(mtastsd_subst in out)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "HEADER" "REPLACE")
  file(READ ${in} text)
  set(pairs ${arg_REPLACE})
  list(LENGTH pairs n)
  while(n GREATER 1)
    list(POP_FRONT pairs re to)
    string(REGEX MATCHALL "${re}" found "${text}")
    list(LENGTH found count)
    if(NOT count EQUAL 1)
      message(FATAL_ERROR "${in}: '${re}' matches ${count} times instead of once; "
                          "update cmake/install.cmake")
    endif()
    string(REGEX REPLACE "${re}" "${to}" text "${text}")
    list(LENGTH pairs n)
  endwhile()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${in})
  # rewritten only when it changes, so an unchanged install stays "Up-to-date"
  file(WRITE ${out}.tmp "${arg_HEADER}${text}")
  configure_file(${out}.tmp ${out} COPYONLY)
  file(REMOVE ${out}.tmp)
endfunction()

set(gen ${CMAKE_BINARY_DIR}/install)
configure_file(${CMAKE_SOURCE_DIR}/config/systemd/mtastsd.service.in ${gen}/mtastsd.service @ONLY)
mtastsd_subst(${CMAKE_SOURCE_DIR}/doc/mtastsd.8 ${gen}/mtastsd.8 REPLACE
  "/etc/mtastsd/mtastsd\\.yaml \\.\n" "${MTASTSD_CONFIG_DEFAULT} .\n"
  "\n\\.I /etc/mtastsd/mtastsd\\.yaml\n" "\n.I ${MTASTSD_CONFIG_DEFAULT}\n"
  "\n\\.I /var/lib/mtastsd/\n" "\n.I ${MTASTSD_STATEDIR}/\n")
mtastsd_subst(${CMAKE_SOURCE_DIR}/config/example.yaml ${gen}/example.yaml HEADER "# Installed from config/example.yaml with the paths of this install: state in the
# unit's state folder, certificates beside this file, user mtastsd (the unit starts as root).
# Edit listen, domains and mx.
" REPLACE
  "\n  certs: [^\n]*" "\n  certs: ${MTASTSD_CONFDIR}/certs/"
  "\n  state: [^\n]*" "\n  state: ${MTASTSD_STATEDIR}/mtastsd.state"
  "\n  zone: [^\n]*" "\n  zone: ${MTASTSD_STATEDIR}/mta-sts.zone"
  "\n# user: mtastsd\n# group: mtastsd\n" "\nuser: mtastsd\ngroup: mtastsd\n")

# `cmake --install --prefix P` cannot move the paths compiled into the binary and written
# into the unit: refuse it rather than install files that disagree.
install(CODE "
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL \"${CMAKE_INSTALL_PREFIX}\")
    message(FATAL_ERROR \"mtastsd was configured for prefix '${CMAKE_INSTALL_PREFIX}' \"
      \"(config '${MTASTSD_CONFIG_DEFAULT}'); configure with -DCMAKE_INSTALL_PREFIX=\${CMAKE_INSTALL_PREFIX} \"
      \"instead of 'cmake --install --prefix'\")
  endif()")
install(TARGETS mtastsd DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES ${gen}/mtastsd.service DESTINATION ${SYSTEMD_UNITDIR})
# the unit starts as root and serve leaves it for the installed config's `user: mtastsd`
install(FILES ${CMAKE_SOURCE_DIR}/config/systemd/mtastsd.sysusers DESTINATION lib/sysusers.d RENAME mtastsd.conf)
install(FILES ${gen}/mtastsd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${gen}/example.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY DESTINATION ${MTASTSD_CONFDIR}/certs)
# The configuration is the operator's once it exists: installed only where there is none.
install(CODE "
  set(conf \"\$ENV{DESTDIR}${MTASTSD_CONFIG_DEFAULT}\")
  if(EXISTS \"\${conf}\")
    message(STATUS \"Keeping: \${conf} (the example with this install's paths: ${CMAKE_INSTALL_FULL_DOCDIR}/example.yaml)\")
  else()
    file(INSTALL \"${gen}/example.yaml\" DESTINATION \"${MTASTSD_CONFDIR}\"
         RENAME mtastsd.yaml PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")

# Debian packages with CPack (scripts/package builds them; see the README):
#   libupopmail<SOVERSION>  the library, the shipped drivers and their manifests
#   libupopmail-dev         headers, CMake package, pkg-config file (and the .so link), upopmail(3)
#   upopmail-cli            the `upopmail` program and its man page
# Configure with -DCMAKE_INSTALL_PREFIX=/usr -DUPOPMAIL_DEB=ON so that the library directory is
# Debian's multiarch one (GNUInstallDirs) and the doc files Debian requires are installed.

set(UPOPMAIL_DEB_LIB "libupopmail${PROJECT_VERSION_MAJOR}")
set(UPOPMAIL_DEB_MAINTAINER "the upopmail authors <authors@upopmail.example.org>")

if(UPOPMAIL_DEB)
  string(TIMESTAMP _deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  set(_deb_doc ${CMAKE_BINARY_DIR}/deb-doc)
  file(READ ${PROJECT_SOURCE_DIR}/LICENSE _license)
  string(REGEX REPLACE "\n\n" "\n.\n" _license "${_license}")
  string(REGEX REPLACE "\n([^\n])" "\n \\1" _license "${_license}")
  file(WRITE ${_deb_doc}/copyright
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    "Upstream-Name: upopmail\n\n"
    "Files: *\nCopyright: 2026 the upopmail authors\nLicense: Expat\n ${_license}")
  # A native package's changelog: the Debian form, pointing at the project's CHANGELOG.md.
  file(WRITE ${_deb_doc}/changelog
    "upopmail (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
    "  * upopmail ${PROJECT_VERSION}; the changes are listed in CHANGELOG.md of the sources.\n\n"
    " -- ${UPOPMAIL_DEB_MAINTAINER}  ${_deb_date}\n")
  execute_process(COMMAND gzip -9nf ${_deb_doc}/changelog)
  file(WRITE ${_deb_doc}/triggers "activate-noawait ldconfig\n")
  foreach(_c lib dev cli)
    if(_c STREQUAL lib)
      set(_p ${UPOPMAIL_DEB_LIB})
    elseif(_c STREQUAL dev)
      set(_p libupopmail-dev)
    else()
      set(_p upopmail-cli)
    endif()
    install(FILES ${_deb_doc}/copyright ${_deb_doc}/changelog.gz
            DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_p} COMPONENT ${_c})
  endforeach()
endif()

set(CPACK_PACKAGE_NAME upopmail)
set(CPACK_PACKAGE_VENDOR "the upopmail authors")
set(CPACK_PACKAGE_CONTACT "${UPOPMAIL_DEB_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL lib dev cli)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://upopmail.example.org/")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME ${UPOPMAIL_DEB_LIB})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIB_PACKAGE_SHLIBDEPS ON)   # libmbedtls14, libmbedx509-1, libmbedcrypto7, ...
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/deb-doc/triggers)
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# CPack indents the lines after the first (the synopsis) and turns an empty line into " .".
set(CPACK_COMPONENT_LIB_DESCRIPTION "SMTP and POP3 mail component with loadable security drivers
upopmail sends mail over SMTP and reads it over POP3 through a stable C ABI.
Its security steps (STARTTLS, AUTH PLAIN, LOGIN, CRAM-MD5, SCRAM, NTLM,
XOAUTH2, OAUTHBEARER, APOP) are drivers loaded from a registry and stacked
in the order the application adds them. TLS (mbedTLS) verifies
certificates and host names by default.

This package has the shared library and the drivers with their manifests.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libupopmail-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${UPOPMAIL_DEB_LIB} (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_DEV_DESCRIPTION "SMTP and POP3 mail component - development files
upopmail sends mail over SMTP and reads it over POP3 through a stable C ABI,
with its security steps as loadable drivers.

This package has the C headers (the API and the driver SDK), the CMake
package (find_package(upopmail)), the pkg-config file and the manual page
upopmail(3) of the C API.")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME upopmail-cli)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION mail)
# dpkg-shlibdeps cannot resolve libupopmail before it is packaged: the dependencies by hand.
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "${UPOPMAIL_DEB_LIB} (= ${PROJECT_VERSION}), libc6 (>= 2.34)")
set(CPACK_COMPONENT_CLI_DESCRIPTION "SMTP and POP3 mail component - command-line program
upopmail sends mail over SMTP and reads it over POP3, with STARTTLS, SMTP
AUTH and POP3 authentication as loadable drivers.

This package has the upopmail program (send, list, get, delete, drivers)
and its manual page.")

include(CPack)

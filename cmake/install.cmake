# What `cmake --install build --prefix DIR` puts in DIR: nn.h and the
# headers it includes (nn/*.h, with nn/advanced.h), libnn.a, the
# command-line tools (examples/CMakeLists.txt), a pkg-config file and a
# CMake package (find_package(nn CONFIG) -> nn::nn). Both files find the
# prefix from where they are installed, so a prefix given at install time,
# or a moved tree, works without rewriting them.
include(CMakePackageConfigHelpers)

if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "NN_INSTALL needs relative CMAKE_INSTALL_LIBDIR and "
    "CMAKE_INSTALL_INCLUDEDIR (the installed packages are relocatable)")
endif()
set(NN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nn)

# nn.h and include/nn/*.h; nn_mpi.h comes with libnn_mpi.a, below, when MPI
# was found (its trainers are installed with the other tools).
install(FILES include/nn.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/nn/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nn
  FILES_MATCHING PATTERN "*.h")
install(TARGETS nn EXPORT nnTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# libnn_mpi.a and nn_mpi.h when MPI was found: link with -lnn_mpi -lnn and
# MPI's own flags (mpicc), see docs/DISTRIBUTED.md.
if(TARGET nn_mpi)
  install(FILES include/nn_mpi.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(TARGETS nn_mpi ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

# CMake package: the exported target carries the include directory and the
# link dependencies (m, Threads::Threads); nnConfig.cmake finds Threads.
install(EXPORT nnTargets NAMESPACE nn:: DESTINATION ${NN_CMAKE_DIR})
# Before 1.0 a minor release may change the API (0.1 -> 0.2 did).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(NN_COMPATIBILITY SameMinorVersion)
else()
  set(NN_COMPATIBILITY SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${NN_COMPATIBILITY})
install(FILES cmake/nnConfig.cmake ${PROJECT_BINARY_DIR}/nnConfigVersion.cmake
  DESTINATION ${NN_CMAKE_DIR})

# pkg-config: ${pcfiledir} is the installed lib/pkgconfig, the prefix is
# that many levels up.
file(RELATIVE_PATH NN_PC_UP /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" NN_PC_UP "${NN_PC_UP}")
configure_file(cmake/nn.pc.in ${PROJECT_BINARY_DIR}/nn.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

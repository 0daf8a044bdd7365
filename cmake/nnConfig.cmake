# find_package(nn CONFIG): the imported target nn::nn (libnn.a, nn.h's
# directory, and the link dependencies m and Threads::Threads).
include(CMakeFindDependencyMacro)
find_dependency(Threads)
include(${CMAKE_CURRENT_LIST_DIR}/nnTargets.cmake)

# Decides whether aimatrix._cuda is built and finds its libraries. cuBLAS (and
# later cuDNN) may come from a system toolkit or from the nvidia-* pip wheels of
# the Python that builds us (site-packages/nvidia/cu13/{include,lib}, or
# nvidia/<lib>/{include,lib} for CUDA 12 wheels), which CMake does not know.
if(AIMATRIX_CUDA STREQUAL "OFF")
  message(STATUS "aimatrix: CUDA module disabled (AIMATRIX_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(AIMATRIX_CUDA STREQUAL "ON")
    message(FATAL_ERROR "aimatrix: AIMATRIX_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
  message(STATUS "aimatrix: no CUDA compiler found, building the CPU module only")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "${AIMATRIX_CUDA_ARCHS}")
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
find_package(CUDAToolkit REQUIRED)

execute_process(
  COMMAND "${Python_EXECUTABLE}" -c "import nvidia; print(';'.join(nvidia.__path__))"
  OUTPUT_VARIABLE _am_nv_roots OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(_am_inc_hints ${CUDAToolkit_INCLUDE_DIRS})
set(_am_lib_hints ${CUDAToolkit_LIBRARY_DIR})
foreach(root IN LISTS _am_nv_roots)
  foreach(sub cu${CUDAToolkit_VERSION_MAJOR} cublas cudnn)
    list(APPEND _am_inc_hints "${root}/${sub}/include")
    list(APPEND _am_lib_hints "${root}/${sub}/lib")
  endforeach()
endforeach()

set(_v ${CUDAToolkit_VERSION_MAJOR})
find_path(AM_CUBLAS_INCLUDE_DIR cublasLt.h HINTS ${_am_inc_hints})
find_library(AM_CUBLAS_LIBRARY NAMES cublas libcublas.so.${_v} HINTS ${_am_lib_hints})
find_library(AM_CUBLASLT_LIBRARY NAMES cublasLt libcublasLt.so.${_v} HINTS ${_am_lib_hints})
if(NOT AM_CUBLAS_INCLUDE_DIR OR NOT AM_CUBLAS_LIBRARY OR NOT AM_CUBLASLT_LIBRARY)
  if(AIMATRIX_CUDA STREQUAL "ON")
    message(FATAL_ERROR "aimatrix: AIMATRIX_CUDA=ON but cuBLAS was not found (install the CUDA toolkit's cuBLAS or `pip install nvidia-cublas`); include=${AM_CUBLAS_INCLUDE_DIR} lib=${AM_CUBLAS_LIBRARY}")
  endif()
  # nvcc is here, so the user probably wants the GPU: say so loudly (pip -v shows it; the first run's header too).
  message(WARNING "aimatrix: nvcc was found but cuBLAS was not: building the CPU module only. To build the CUDA "
                  "back end: pip install nvidia-cublas nvidia-cuda-runtime nvidia-cudnn-cu13 nanobind "
                  "scikit-build-core cmake ninja && AIMATRIX_CUDA=ON pip install --no-build-isolation .")
  return()
endif()
message(STATUS "aimatrix: CUDA ${CUDAToolkit_VERSION} archs=${CMAKE_CUDA_ARCHITECTURES} cuBLAS=${AM_CUBLAS_LIBRARY}")

# cuDNN 9 (conv backend "cudnn"): the toolkit's, or the nvidia-cudnn-cu13 wheel's
# (site-packages/nvidia/cudnn/{include,lib}). AIMATRIX_CUDA=ON requires it; AUTO
# builds the CUDA module without it (backend "cudnn" then raises UnsupportedError).
# The Python's nvidia-cudnn wheel first: the copy PyTorch loads, so one process
# never maps two different libcudnn.so.9 (seen to crash on the H100 when aimatrix
# had linked the system's and torch its wheel's).
set(_am_cudnn_inc "")
set(_am_cudnn_lib "")
foreach(root IN LISTS _am_nv_roots)
  list(APPEND _am_cudnn_inc "${root}/cudnn/include")
  list(APPEND _am_cudnn_lib "${root}/cudnn/lib")
endforeach()
find_path(AM_CUDNN_INCLUDE_DIR cudnn.h HINTS ${_am_cudnn_inc} ${_am_inc_hints} NO_CACHE)
find_library(AM_CUDNN_LIBRARY NAMES libcudnn.so.9 cudnn NAMES_PER_DIR HINTS ${_am_cudnn_lib} ${_am_lib_hints} NO_CACHE)
if(AM_CUDNN_INCLUDE_DIR AND AM_CUDNN_LIBRARY)
  set(AM_HAVE_CUDNN 1)
  message(STATUS "aimatrix: cuDNN=${AM_CUDNN_LIBRARY}")
elseif(AIMATRIX_CUDA STREQUAL "ON")
  message(FATAL_ERROR "aimatrix: AIMATRIX_CUDA=ON but cuDNN 9 was not found (`pip install nvidia-cudnn-cu13` or a toolkit's cuDNN); include=${AM_CUDNN_INCLUDE_DIR} lib=${AM_CUDNN_LIBRARY}")
else()
  set(AM_HAVE_CUDNN 0)
  message(STATUS "aimatrix: cuDNN not found: the CUDA module is built without the cudnn conv backend (pip install nvidia-cudnn-cu13)")
endif()

# CUPTI (timer="cupti"): only its headers at build time, from the toolkit (include/ or
# extras/CUPTI/include) or the nvidia-cuda-cupti wheel; the library is loaded at run time
# (csrc/cuda/cupti_timer.cpp), so a machine without it still imports the module.
set(_am_cupti_inc ${_am_inc_hints})
foreach(dir IN LISTS CUDAToolkit_INCLUDE_DIRS)
  list(APPEND _am_cupti_inc "${dir}/../extras/CUPTI/include")
endforeach()
foreach(root IN LISTS _am_nv_roots)
  list(APPEND _am_cupti_inc "${root}/cuda_cupti/include")
endforeach()
find_path(AM_CUPTI_INCLUDE_DIR cupti_activity.h HINTS ${_am_cupti_inc} NO_CACHE)
if(AM_CUPTI_INCLUDE_DIR)
  set(AM_HAVE_CUPTI 1)
  message(STATUS "aimatrix: CUPTI headers=${AM_CUPTI_INCLUDE_DIR} (library loaded at run time)")
else()
  set(AM_HAVE_CUPTI 0)
  message(STATUS "aimatrix: CUPTI headers not found: timer='cupti' will be unavailable (pip install nvidia-cuda-cupti)")
endif()

file(GLOB AM_CUDA_SOURCES CONFIGURE_DEPENDS csrc/cuda/*.cu csrc/cuda/*.cpp)
add_library(am_cuda STATIC ${AM_CUDA_SOURCES})
target_include_directories(am_cuda PUBLIC csrc)
# The toolkit's own headers first, so a wheel's newer cuda_runtime.h (the cu13
# wheels keep it beside cublas_v2.h) never shadows the one nvcc was built with.
target_include_directories(am_cuda SYSTEM BEFORE PUBLIC ${CUDAToolkit_INCLUDE_DIRS})
target_include_directories(am_cuda SYSTEM AFTER PUBLIC ${AM_CUBLAS_INCLUDE_DIR})
target_link_libraries(am_cuda PUBLIC am_cpu CUDA::cudart ${AM_CUBLASLT_LIBRARY} ${AM_CUBLAS_LIBRARY})
target_compile_definitions(am_cuda PRIVATE AM_HAVE_CUDNN=${AM_HAVE_CUDNN} AM_HAVE_CUPTI=${AM_HAVE_CUPTI})
if(AM_HAVE_CUPTI)
  target_include_directories(am_cuda SYSTEM AFTER PRIVATE ${AM_CUPTI_INCLUDE_DIR})
endif()
target_link_libraries(am_cuda PUBLIC ${CMAKE_DL_LIBS})
if(AM_HAVE_CUDNN)
  target_include_directories(am_cuda SYSTEM AFTER PUBLIC ${AM_CUDNN_INCLUDE_DIR})
  target_link_libraries(am_cuda PUBLIC ${AM_CUDNN_LIBRARY})
endif()
target_compile_options(am_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo -Xptxas=-warn-spills>)
set_target_properties(am_cuda PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)

set(AM_CUDA_DEST aimatrix/_backends/cu${CUDAToolkit_VERSION_MAJOR})
nanobind_add_module(_cuda STABLE_ABI NB_STATIC csrc/bindings/cuda.cpp)
target_link_libraries(_cuda PRIVATE am_cuda)
# Keep what static archives bring in (a toolchain may link libstdc++ statically) private to the
# module: exported, its C++ runtime's symbols bind to another copy already loaded with
# RTLD_GLOBAL (PyTorch's, when torch is imported first), and streams then crash on a facet of the
# wrong copy (seen on an H200: ostream << double inside a cuDNN plan's info).
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  target_link_options(_cuda PRIVATE "LINKER:--exclude-libs,ALL")
endif()
# Installed wheels find cuBLAS & co. in site-packages/nvidia/cuXY/lib; a system
# toolkit is found through the loader path (aimatrix preloads libraries too).
set_target_properties(_cuda PROPERTIES INSTALL_RPATH
  "$ORIGIN/../../../nvidia/cu${CUDAToolkit_VERSION_MAJOR}/lib;$ORIGIN/../../../nvidia/cublas/lib;$ORIGIN/../../../nvidia/cudnn/lib")
install(TARGETS _cuda LIBRARY DESTINATION ${AM_CUDA_DEST})
file(WRITE "${CMAKE_BINARY_DIR}/backend_init.py"
  "\"\"\"aimatrix CUDA ${CUDAToolkit_VERSION_MAJOR} back end (built with CUDA ${CUDAToolkit_VERSION}).\"\"\"\n")
install(FILES "${CMAKE_BINARY_DIR}/backend_init.py" DESTINATION ${AM_CUDA_DEST} RENAME __init__.py)
install(FILES "${CMAKE_SOURCE_DIR}/csrc/bindings/_cuda.pyi" DESTINATION ${AM_CUDA_DEST})

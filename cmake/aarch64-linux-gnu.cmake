# Cross build for aarch64 with Debian's gcc-aarch64-linux-gnu; tests run
# under qemu-aarch64 (qemu-user) through CMAKE_CROSSCOMPILING_EMULATOR.
# Libraries for the target come from Debian's multiarch packages (arm64),
# found by pkg-config in /usr/lib/aarch64-linux-gnu/pkgconfig.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The tests run against Debian's multiarch arm64 C library (libc6:arm64,
# pulled in by check:arm64), whose loader is /lib/ld-linux-aarch64.so.1.
# Do not point qemu at the cross toolchain's own copy (-L /usr/aarch64-linux-gnu):
# its loader then mixes with the multiarch libc and fork() hangs in the child.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} /)

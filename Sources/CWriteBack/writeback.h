// Starts the write-out of a file range without waiting for it: Linux's sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE. Swift's Glibc module is built without _GNU_SOURCE, which hides the libc
// wrapper, so this calls the system call by number.
#ifndef LAYERSTORE_CWRITEBACK_H
#define LAYERSTORE_CWRITEBACK_H

#include <stdint.h>
#if defined(__linux__)
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/// Returns 0, or the errno of the failed call (ENOSYS where the call does not exist).
static inline int layerstore_start_write_back(int fd, int64_t offset, int64_t length) {
#if defined(__linux__) && defined(SYS_sync_file_range)
    // 2 is SYNC_FILE_RANGE_WRITE: start write-out of dirty pages not already under write-out.
    return syscall(SYS_sync_file_range, fd, offset, length, 2u) == 0 ? 0 : errno;
#else
    (void)fd; (void)offset; (void)length;
    return ENOSYS;
#endif
}

#endif

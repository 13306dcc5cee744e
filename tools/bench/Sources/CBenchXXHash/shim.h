// XXH3-64 for the benchmark's scan checksums and its XXH3 limit: the same entry point the
// store uses for long inputs (the shared library's runtime-dispatched AVX2 code on x86_64),
// so the limit is the speed the store itself can reach.
#ifndef BENCH_XXHASH_SHIM_H
#define BENCH_XXHASH_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif
static inline uint64_t bench_xxh3(const void *data, size_t length) {
#if defined(__x86_64__)
    return XXH3_64bits_withSeed_dispatch(data, length, 0);
#else
    return XXH3_64bits_withSeed(data, length, 0);
#endif
}
#endif

// XXH3-64 for LayerStore's checksums and key hashes.
//
// Short inputs (keys) use the header's inline code: no call through the shared library.
// Long inputs (blocks, sections) use the shared library's runtime-dispatched (AVX2) entry point
// on x86_64, which is the fastest variant measured on this machine.
#ifndef LAYERSTORE_CXXHASH_SHIM_H
#define LAYERSTORE_CXXHASH_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif

static inline uint64_t layerstore_xxh3_long(const void *data, size_t length, uint64_t seed) {
#if defined(__x86_64__)
    return XXH3_64bits_withSeed_dispatch(data, length, seed);
#else
    return XXH3_64bits_withSeed(data, length, seed);
#endif
}

#endif

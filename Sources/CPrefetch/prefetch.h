// A software prefetch for LayerStore's hash tables: Swift has no spelling of its own for it.
//
// A prefetch, unlike a load, lets the instructions after it retire before the line arrives, so
// a loop can put the misses of many keys in flight at once (see Memtable.apply).
#ifndef LAYERSTORE_CPREFETCH_H
#define LAYERSTORE_CPREFETCH_H

static inline void layerstore_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif

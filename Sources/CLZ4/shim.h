#ifndef LAYERSTORE_CLZ4_SHIM_H
#define LAYERSTORE_CLZ4_SHIM_H
#include <lz4.h>
#endif

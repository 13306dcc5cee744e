// RocksDB's C API.
#include <stddef.h>
#include <rocksdb/c.h>

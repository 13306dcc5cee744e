// LMDB's C API (Debian's liblmdb-dev ships no pkg-config file, hence the plain `link "lmdb"`).
#include <lmdb.h>

// LZ4's block API, for the LZ4 limit the cold tier is measured against.
#include <lz4.h>

// SQLite's C API. (SQLITE_STATIC is a null destructor: Swift passes nil.)
#include <sqlite3.h>

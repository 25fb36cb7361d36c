#include <sqlite3.h>

/// Turns off SQLite's memory-usage statistics, which take a global mutex on every allocation.
/// `sqlite3_config` is variadic, which Swift cannot call; it only works before SQLite is first
/// used in the process (otherwise it returns SQLITE_MISUSE and changes nothing).
static inline int strata_sqlite3_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

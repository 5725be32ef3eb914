#include "store/open.hpp"

#include <stdexcept>

#include "store/sqlite/sqlite_store.hpp"

namespace mf {

std::unique_ptr<Store> open_store(const std::string& url, const Clock& clock) {
    const std::string sqlite_scheme = "sqlite:";
    if (url.rfind(sqlite_scheme, 0) == 0) {
        std::string path = url.substr(sqlite_scheme.size());
        // Accept sqlite:///abs/path as well as sqlite:relative/path.
        if (path.rfind("//", 0) == 0) path = path.substr(2);
        if (path.empty()) throw std::runtime_error("database URL " + url + " names no file");
        SqliteOptions options;
        options.path = path;
        options.clock = &clock;
        return open_sqlite_store(options);
    }
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
        throw std::runtime_error("PostgreSQL is not supported by this build yet: " + url);
    }
    throw std::runtime_error("unknown database URL '" + url +
                             "': expected sqlite:PATH or postgresql://...");
}

}  // namespace mf

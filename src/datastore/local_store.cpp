#include "datastore/local_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mf::datastore {

bool safe_key(std::string_view key) {
    if (key.empty() || key.front() == '/') return false;
    std::size_t start = 0;
    while (start <= key.size()) {
        auto end = key.find('/', start);
        if (end == std::string_view::npos) end = key.size();
        auto segment = key.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == ".." ||
            segment.find('\0') != std::string_view::npos) {
            return false;
        }
        start = end + 1;
    }
    return true;
}

namespace {

Error not_found(std::string_view key) {
    return Error::not_found("no object " + std::string(key)).with_id("MetaflowNotFound");
}

Error io_error(std::string_view key, int code) {
    if (code == ENOENT || code == ENOTDIR) return not_found(key);
    return Error::unavailable("cannot read " + std::string(key) + ": " + std::strerror(code))
        .with_id("DataException");
}

}  // namespace

LocalStore::LocalStore(std::filesystem::path root) : root_(std::move(root)) {}

Result<std::string> LocalStore::read(std::string_view key, std::size_t max_bytes) {
    if (!safe_key(key)) return not_found(key);
    auto path = root_ / std::string(key);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error(key, errno);
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        return not_found(key);
    }
    if (static_cast<std::uint64_t>(info.st_size) > max_bytes) {
        ::close(fd);
        return Error::unprocessable(std::string(key) + ": " + std::to_string(info.st_size) +
                                    " bytes")
            .with_id("artifact-too-large");
    }
    std::string content(static_cast<std::size_t>(info.st_size), '\0');
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::read(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int code = errno;
            ::close(fd);
            return io_error(key, code);
        }
        if (n == 0) break;  // the file shrank while we read it
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    content.resize(done);
    return content;
}

Result<std::optional<std::uint64_t>> LocalStore::size(std::string_view key) {
    if (!safe_key(key)) return std::optional<std::uint64_t>{};
    struct stat info {};
    auto path = root_ / std::string(key);
    if (::stat(path.c_str(), &info) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::uint64_t>{};
        return io_error(key, errno);
    }
    if (!S_ISREG(info.st_mode)) return std::optional<std::uint64_t>{};
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(info.st_size));
}

Result<std::vector<std::string>> LocalStore::list(std::string_view prefix) {
    std::vector<std::string> names;
    if (!safe_key(prefix)) return names;
    std::error_code error;
    std::filesystem::directory_iterator entries(root_ / std::string(prefix), error);
    if (error) {
        if (error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory) {
            return names;
        }
        return io_error(prefix, error.value());
    }
    for (const auto& entry : entries) {
        if (entry.is_regular_file(error)) names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string LocalStore::root_url() const {
    return "file://" + root_.string();
}

}  // namespace mf::datastore

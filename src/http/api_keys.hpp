#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mf::http {

enum class KeyRole { read_write, read_only };

struct ApiKey {
    std::string name;
    std::array<unsigned char, 32> sha256{};  // only the digest is kept in memory
    KeyRole role = KeyRole::read_write;
};

// The keys that may call the API. Lines of a key file, and entries of the environment
// variable, read `NAME:KEY` or `NAME:sha256:HEX` (so the file need not hold the secret),
// optionally followed by whitespace and a role, `read-write` (default) or `read-only`.
// Blank lines and lines starting with '#' are ignored.
class KeyRing {
public:
    // Throws std::invalid_argument naming the line that does not parse.
    static std::vector<ApiKey> parse(std::string_view text, std::string_view source);

    KeyRing(std::optional<std::string> file, std::string inline_keys);
    // Rereads the file; on error keeps the keys it had and rethrows.
    void reload();

    bool empty() const;
    // The key whose secret this is, compared in constant time against every key.
    std::optional<ApiKey> find(std::string_view presented) const;

private:
    std::optional<std::string> file_;
    std::string inline_keys_;
    mutable std::mutex mutex_;
    std::shared_ptr<const std::vector<ApiKey>> keys_;
};

}  // namespace mf::http

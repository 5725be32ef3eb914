#include "http/api_keys.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "model/text.hpp"

namespace mf::http {
namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> digest{};
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

std::optional<std::array<unsigned char, 32>> from_hex(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    std::array<unsigned char, 32> bytes{};
    for (std::size_t i = 0; i < 32; ++i) {
        unsigned value = 0;
        for (char c : hex.substr(i * 2, 2)) {
            value <<= 4;
            if (c >= '0' && c <= '9')
                value |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                value |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                value |= static_cast<unsigned>(c - 'A' + 10);
            else
                return std::nullopt;
        }
        bytes[i] = static_cast<unsigned char>(value);
    }
    return bytes;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("cannot read API key file " + path);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace

std::vector<ApiKey> KeyRing::parse(std::string_view text, std::string_view source) {
    std::vector<ApiKey> keys;
    std::size_t line_number = 0;
    while (!text.empty()) {
        auto end = text.find_first_of("\n,");
        auto line = trim_space(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        ++line_number;
        if (line.empty() || line.front() == '#') continue;
        auto fail = [&](const std::string& why) {
            return std::invalid_argument(std::string(source) + " entry " +
                                         std::to_string(line_number) + ": " + why);
        };
        ApiKey key;
        auto space = line.find_first_of(" \t");
        if (space != std::string_view::npos) {
            auto role = trim_space(line.substr(space));
            line = line.substr(0, space);
            if (role == "read-only") {
                key.role = KeyRole::read_only;
            } else if (role != "read-write") {
                throw fail("role must be read-write or read-only");
            }
        }
        auto colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos || colon + 1 == line.size()) {
            throw fail("expected NAME:KEY or NAME:sha256:HEX");
        }
        key.name = std::string(line.substr(0, colon));
        auto secret = line.substr(colon + 1);
        if (secret.rfind("sha256:", 0) == 0) {
            auto digest = from_hex(secret.substr(7));
            if (!digest) throw fail("sha256: must be followed by 64 hex digits");
            key.sha256 = *digest;
        } else {
            key.sha256 = sha256(secret);
        }
        keys.push_back(std::move(key));
    }
    return keys;
}

KeyRing::KeyRing(std::optional<std::string> file, std::string inline_keys)
    : file_(std::move(file)), inline_keys_(std::move(inline_keys)) {
    reload();
}

void KeyRing::reload() {
    auto keys = parse(inline_keys_, "MF_METADATA_API_KEYS");
    if (file_) {
        auto from_file = parse(read_file(*file_), *file_);
        keys.insert(keys.end(), from_file.begin(), from_file.end());
    }
    auto shared = std::make_shared<const std::vector<ApiKey>>(std::move(keys));
    std::lock_guard lock(mutex_);
    keys_ = std::move(shared);
}

bool KeyRing::empty() const {
    std::lock_guard lock(mutex_);
    return keys_->empty();
}

std::optional<ApiKey> KeyRing::find(std::string_view presented) const {
    std::shared_ptr<const std::vector<ApiKey>> keys;
    {
        std::lock_guard lock(mutex_);
        keys = keys_;
    }
    auto digest = sha256(presented);
    std::optional<ApiKey> match;
    // No early exit: the time taken must not tell which key came close.
    for (const auto& key : *keys) {
        if (CRYPTO_memcmp(digest.data(), key.sha256.data(), digest.size()) == 0 && !match) {
            match = key;
        }
    }
    return match;
}

}  // namespace mf::http

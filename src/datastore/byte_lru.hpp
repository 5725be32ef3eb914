#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace mf::datastore {

// A least-recently-used cache bounded by the bytes of its values (as the caller weighs
// them), safe to use from several threads. Values are shared and immutable, so a reader keeps
// what it got even after the entry is evicted. A value heavier than the whole bound is not
// kept; a bound of 0 keeps nothing.
template <class Value>
class ByteLru {
public:
    explicit ByteLru(std::size_t max_bytes) : max_bytes_(max_bytes) {}
    ByteLru(const ByteLru&) = delete;
    ByteLru& operator=(const ByteLru&) = delete;

    std::shared_ptr<const Value> get(const std::string& key) {
        std::lock_guard lock(mutex_);
        auto found = index_.find(key);
        if (found == index_.end()) return nullptr;
        entries_.splice(entries_.begin(), entries_, found->second);
        return found->second->value;
    }

    void put(const std::string& key, std::shared_ptr<const Value> value, std::size_t bytes) {
        std::lock_guard lock(mutex_);
        erase_locked(key);
        if (bytes > max_bytes_) return;
        entries_.push_front(Entry{key, std::move(value), bytes});
        index_.emplace(key, entries_.begin());
        bytes_ += bytes;
        while (bytes_ > max_bytes_) {
            const Entry& oldest = entries_.back();
            bytes_ -= oldest.bytes;
            index_.erase(oldest.key);
            entries_.pop_back();
        }
    }

    void erase(const std::string& key) {
        std::lock_guard lock(mutex_);
        erase_locked(key);
    }

    std::size_t bytes() const {
        std::lock_guard lock(mutex_);
        return bytes_;
    }
    std::size_t max_bytes() const { return max_bytes_; }

private:
    struct Entry {
        std::string key;
        std::shared_ptr<const Value> value;
        std::size_t bytes;
    };

    void erase_locked(const std::string& key) {
        auto found = index_.find(key);
        if (found == index_.end()) return;
        bytes_ -= found->second->bytes;
        entries_.erase(found->second);
        index_.erase(found);
    }

    const std::size_t max_bytes_;
    mutable std::mutex mutex_;
    std::list<Entry> entries_;  // most recently used first
    std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
    std::size_t bytes_ = 0;
};

}  // namespace mf::datastore

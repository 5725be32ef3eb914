#pragma once

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace mf::pg {

// The server processes (backend pids) of the store's own write connections while they are
// open. The store publishes what those connections commit itself, right after the commit, so
// the change feed skips the notifications they send. A pid counts from before its
// connection's first statement until the connection closes: a later backend given the same
// pid (another writer's) is heard again. Behind a pooler the pids are not known (it
// announces its own, and may run a connection's statements in any server process): then
// no pid counts, and the store publishes nothing itself. Safe from any thread.
class OwnBackends {
public:
    void note_pooler() { behind_pooler_ = true; }
    bool behind_pooler() const { return behind_pooler_; }

    void add(int pid) {
        std::lock_guard lock(mutex_);
        ++open_[pid];
    }

    void remove(int pid) {
        std::lock_guard lock(mutex_);
        // Counted, not a set: a broken connection may be closed after a new one got its
        // backend's pid.
        if (auto found = open_.find(pid); found != open_.end() && --found->second == 0)
            open_.erase(found);
    }

    bool contains(int pid) const {
        std::lock_guard lock(mutex_);
        return open_.contains(pid);
    }

private:
    std::atomic<bool> behind_pooler_{false};
    mutable std::mutex mutex_;
    std::unordered_map<int, int> open_;  // pid to its open connections
};

}  // namespace mf::pg

#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mf {

// The server's notion of now. Production uses the system clock; the conformance replay
// drives a manual one so that timestamps and the heartbeat 10-second rule follow the trace.
class Clock {
public:
    virtual ~Clock() = default;
    virtual std::int64_t now_ms() const = 0;
    std::int64_t now_s() const { return now_ms() / 1000; }
};

class SystemClock final : public Clock {
public:
    std::int64_t now_ms() const override {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
};

class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t ms = 0) : ms_(ms) {}
    std::int64_t now_ms() const override { return ms_.load(); }
    void set_ms(std::int64_t ms) { ms_.store(ms); }

private:
    std::atomic<std::int64_t> ms_;
};

}  // namespace mf

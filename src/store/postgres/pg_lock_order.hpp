#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace mf::pg {

// The lock order (Pool::write) of a write that updates a run's row, and of one that updates
// a task's row after its run's: the run's rows before its tasks', runs and tasks in the order
// of their numbers. Numbers, because a path may name the same run by its number or its
// run_id, and the same task by its number or its task_name: keys made of what the path says
// would order one row two ways, and two batches could take the same locks in opposite
// orders.
std::string run_lock_order(const std::string& flow_id, std::int64_t run_number);
std::string task_lock_order(const std::string& flow_id, std::int64_t run_number,
                            std::int64_t task_id);

// The numbers of the runs and tasks that paths named by run_id or task_name, as creates and
// lookups found them, from any thread. A run's run_id and a task's task_name never move to
// another row, and a number found here only orders a write's locks (the write's SQL still
// names the row as the path does): a wrong one would cost a deadlock that PostgreSQL breaks
// and the batch retries, never a wrong row.
class KnownNumbers {
public:
    std::optional<std::int64_t> run_number(const std::string& flow_id,
                                           const std::string& run_id) const;
    std::optional<std::int64_t> task_id(const std::string& flow_id, std::int64_t run_number,
                                        const std::string& step_name,
                                        const std::string& task_name) const;
    void add_run(const std::string& flow_id, const std::string& run_id, std::int64_t run_number);
    void add_task(const std::string& flow_id, std::int64_t run_number, const std::string& step_name,
                  const std::string& task_name, std::int64_t task_id);

private:
    // Bounds the memory: when full, it starts again empty, and the names it forgot are looked
    // up again when next written.
    static constexpr std::size_t kMostNames = 1 << 16;
    std::optional<std::int64_t> find(const std::string& name) const;
    void add(std::string name, std::int64_t number);

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::int64_t> numbers_;
};

}  // namespace mf::pg

#include "store/postgres/pg_lock_order.hpp"

namespace mf::pg {
namespace {

// A separator no flow, step or name of the API holds, and that sorts before every character
// they do: a run's key is a prefix of its tasks' keys, and so comes before them.
constexpr char kSeparator = '\x1f';

std::string run_name_key(const std::string& flow_id, const std::string& run_id) {
    return std::string("r") + flow_id + kSeparator + run_id;
}

std::string task_name_key(const std::string& flow_id, std::int64_t run_number,
                          const std::string& step_name, const std::string& task_name) {
    return std::string("t") + flow_id + kSeparator + std::to_string(run_number) + kSeparator +
           step_name + kSeparator + task_name;
}

}  // namespace

std::string run_lock_order(const std::string& flow_id, std::int64_t run_number) {
    return flow_id + kSeparator + std::to_string(run_number);
}

std::string task_lock_order(const std::string& flow_id, std::int64_t run_number,
                            std::int64_t task_id) {
    return run_lock_order(flow_id, run_number) + kSeparator + std::to_string(task_id);
}

std::optional<std::int64_t> KnownNumbers::run_number(const std::string& flow_id,
                                                     const std::string& run_id) const {
    return find(run_name_key(flow_id, run_id));
}

std::optional<std::int64_t> KnownNumbers::task_id(const std::string& flow_id,
                                                  std::int64_t run_number,
                                                  const std::string& step_name,
                                                  const std::string& task_name) const {
    return find(task_name_key(flow_id, run_number, step_name, task_name));
}

void KnownNumbers::add_run(const std::string& flow_id, const std::string& run_id,
                           std::int64_t run_number) {
    add(run_name_key(flow_id, run_id), run_number);
}

void KnownNumbers::add_task(const std::string& flow_id, std::int64_t run_number,
                            const std::string& step_name, const std::string& task_name,
                            std::int64_t task_id) {
    add(task_name_key(flow_id, run_number, step_name, task_name), task_id);
}

std::optional<std::int64_t> KnownNumbers::find(const std::string& name) const {
    std::lock_guard lock(mutex_);
    const auto found = numbers_.find(name);
    if (found == numbers_.end()) return std::nullopt;
    return found->second;
}

void KnownNumbers::add(std::string name, std::int64_t number) {
    std::lock_guard lock(mutex_);
    if (numbers_.size() >= kMostNames) numbers_.clear();
    numbers_.insert_or_assign(std::move(name), number);
}

}  // namespace mf::pg

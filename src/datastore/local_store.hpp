#pragma once

#include <filesystem>

#include "datastore/object_store.hpp"

namespace mf::datastore {

// A datastore in a local folder (Metaflow's local datastore, METAFLOW_DATASTORE_SYSROOT_LOCAL).
class LocalStore final : public ObjectStore {
public:
    explicit LocalStore(std::filesystem::path root);

    Result<std::string> read(std::string_view key, std::size_t max_bytes) override;
    Result<std::optional<std::uint64_t>> size(std::string_view key) override;
    Result<std::vector<std::string>> list(std::string_view prefix) override;
    std::string root_url() const override;

private:
    std::filesystem::path root_;
};

}  // namespace mf::datastore

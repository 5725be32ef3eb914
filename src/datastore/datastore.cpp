#include "datastore/datastore.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "datastore/gzip.hpp"
#include "datastore/local_store.hpp"
#include "datastore/s3_store.hpp"

namespace mf::datastore {
namespace {

const char* stream_name(LogStream stream) {
    return stream == LogStream::out ? "stdout" : "stderr";
}

// The client writes logs of these sources, in this order.
constexpr const char* log_sources[] = {"runtime", "task"};

Error not_found(std::string message, const ObjectStore& store) {
    bool s3 = store.root_url().rfind("s3://", 0) == 0;
    return Error::not_found(std::move(message))
        .with_id(s3 ? "MetaflowS3NotFound" : "MetaflowNotFound");
}

Result<boost::json::value> parse_json(const std::string& text, const std::string& what) {
    boost::system::error_code error;
    auto value = boost::json::parse(text, error);
    if (error) {
        return Error::unprocessable(what + " is not JSON: " + error.message())
            .with_id("DataException");
    }
    return value;
}

}  // namespace

std::string task_folder(const TaskPath& task) {
    return task.flow + "/" + task.run + "/" + task.step + "/" + task.task;
}

std::string blob_key(const std::string& flow, const std::string& sha) {
    return flow + "/data/" + sha.substr(0, 2) + "/" + sha;
}

std::string card_folder(const TaskPath& task) {
    return task.flow + "/runs/" + task.run + "/steps/" + task.step + "/tasks/" + task.task;
}

std::optional<CardInfo> parse_card_file(const std::string& file) {
    constexpr std::string_view suffix = ".html";
    if (file.size() <= suffix.size() ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    std::string stem = file.substr(0, file.size() - suffix.size());
    auto first = stem.find('-');
    auto last = stem.rfind('-');
    if (first == std::string::npos || first == 0 || last + 1 >= stem.size()) return std::nullopt;
    CardInfo card{.type = stem.substr(0, first), .hash = stem.substr(last + 1), .file = file};
    if (last > first) card.id = stem.substr(first + 1, last - first - 1);
    return card;
}

Datastore::Datastore(std::shared_ptr<ObjectStore> objects, std::shared_ptr<ObjectStore> cards,
                     DatastoreLimits limits)
    : objects_(std::move(objects)), cards_(std::move(cards)), limits_(limits) {}

Result<std::shared_ptr<Datastore>> Datastore::from_environment(const EnvLookup& env) {
    auto value = [&](const char* name) {
        auto found = env(name);
        return found && !found->empty() ? found : std::nullopt;
    };
    if (auto s3_root = value("METAFLOW_DATASTORE_SYSROOT_S3")) {
        S3Options options;
        options.endpoint_url = value("METAFLOW_S3_ENDPOINT_URL").value_or("");
        if (auto seconds = number_or(env, "MF_UI_S3_TIMEOUT", 0))
            options.timeout = std::chrono::seconds(seconds);
        options.region =
            value("AWS_REGION")
                .value_or(
                    value("AWS_DEFAULT_REGION").value_or(config_file_region(env).value_or("")));
        auto credentials = std::make_shared<AwsCredentialChain>(env);
        std::shared_ptr<ObjectStore> objects = S3Store::open(*s3_root, options, credentials);
        if (!objects) {
            return Error::invalid("METAFLOW_DATASTORE_SYSROOT_S3 is not an s3:// URL: " + *s3_root)
                .with_id("MetaflowS3URLException");
        }
        auto card_root = value("METAFLOW_CARD_S3ROOT").value_or(objects->root_url() + "/mf.cards");
        std::shared_ptr<ObjectStore> cards = S3Store::open(card_root, options, credentials);
        if (!cards) {
            return Error::invalid("METAFLOW_CARD_S3ROOT is not an s3:// URL: " + card_root)
                .with_id("MetaflowS3URLException");
        }
        return std::make_shared<Datastore>(std::move(objects), std::move(cards));
    }
    if (auto local_root = value("METAFLOW_DATASTORE_SYSROOT_LOCAL")) {
        std::filesystem::path root = std::filesystem::path(*local_root) / ".metaflow";
        return std::make_shared<Datastore>(std::make_shared<LocalStore>(root),
                                           std::make_shared<LocalStore>(root / "mf.cards"));
    }
    return std::shared_ptr<Datastore>();
}

Result<std::vector<ArtifactInfo>> Datastore::artifacts(const TaskPath& task, int attempt) const {
    std::string key = task_folder(task) + "/" + std::to_string(attempt) + ".data.json";
    auto text = objects_->read(key, limits_.max_metadata_bytes);
    if (!text) return text.take_error();
    auto document = parse_json(*text, key);
    if (!document) return document.take_error();
    std::vector<ArtifactInfo> found;
    const auto* root = document->if_object();
    const auto* objects = root ? root->if_contains("objects") : nullptr;
    const auto* info = root ? root->if_contains("info") : nullptr;
    if (!objects || !objects->is_object()) {
        return Error::unprocessable(key + " lists no objects").with_id("DataException");
    }
    for (const auto& [name, sha] : objects->as_object()) {
        if (!sha.is_string()) continue;
        ArtifactInfo artifact{.name = std::string(name), .sha = std::string(sha.as_string())};
        const auto* details =
            info && info->is_object() ? info->as_object().if_contains(name) : nullptr;
        if (details && details->is_object()) {
            const auto& fields = details->as_object();
            if (const auto* size = fields.if_contains("size"); size && size->is_number()) {
                artifact.size = size->to_number<std::uint64_t>();
            }
            if (const auto* type = fields.if_contains("type"); type && type->is_string()) {
                artifact.type = std::string(type->as_string());
            }
            if (const auto* encoding = fields.if_contains("encoding");
                encoding && encoding->is_string()) {
                artifact.encoding = std::string(encoding->as_string());
            }
        }
        found.push_back(std::move(artifact));
    }
    return found;
}

Result<ArtifactInfo> Datastore::artifact(const TaskPath& task, int attempt,
                                         const std::string& name) const {
    auto all = artifacts(task, attempt);
    if (!all) return all.take_error();
    for (auto& artifact : *all) {
        if (artifact.name == name) return std::move(artifact);
    }
    return not_found(
        "no artifact " + task.pathspec() + "/" + name + " in attempt " + std::to_string(attempt),
        *objects_);
}

Result<PyGraph> Datastore::load_value(const std::string& flow, const std::string& sha) const {
    if (sha.size() < 3) return not_found("no artifact with sha " + sha, *objects_);
    auto blob = objects_->read(blob_key(flow, sha), limits_.max_blob_bytes);
    if (!blob) return blob.take_error();
    auto pickle = gunzip(*blob, limits_.max_value_bytes);
    if (!pickle) return pickle.take_error();
    return unpickle(*pickle, limits_.pickle);
}

Result<std::string> Datastore::artifact_content(const TaskPath& task, int attempt,
                                                const std::string& name,
                                                std::size_t max_pickle_bytes) const {
    auto info = artifact(task, attempt, name);
    if (!info) return info.take_error();
    if (info->size >= max_pickle_bytes) {
        return Error::unprocessable(task.pathspec() + "/" + name + ": " +
                                    std::to_string(info->size) + " bytes")
            .with_id("artifact-too-large");
    }
    auto value = load_value(task.flow, info->sha);
    if (!value) return value.take_error();
    return python_str_via_json(*value, limits_.render);
}

Result<boost::json::object> Datastore::parameters(const TaskPath& parameters_task) const {
    auto all = artifacts(parameters_task, 0);
    if (!all) return all.take_error();
    std::sort(all->begin(), all->end(),
              [](const ArtifactInfo& a, const ArtifactInfo& b) { return a.name < b.name; });
    boost::json::object result;
    for (const auto& artifact : *all) {
        if (artifact.name.empty() || artifact.name[0] == '_' || artifact.name == "name" ||
            artifact.name == "script_name") {
            continue;
        }
        auto value = load_value(parameters_task.flow, artifact.sha);
        if (!value) return value.take_error();
        auto json = to_json(*value, limits_.render);
        if (!json) return json.take_error();
        result[artifact.name] = boost::json::object{{"value", std::move(*json)}};
    }
    return result;
}

Result<boost::json::value> Datastore::dag(const TaskPath& parameters_task) const {
    auto all = artifacts(parameters_task, 0);
    if (!all) return all.take_error();
    const auto info = std::find_if(all->begin(), all->end(), [](const auto& artifact) {
        return artifact.name == "_graph_info";
    });
    // Clients older than `_graph_info` left only their flow's source, which the reference
    // parses and this service does not: its answer when the parsing fails.
    if (info == all->end()) {
        return Error::not_found(
                   "DAG Parsing failed: the run has no _graph_info (its Metaflow "
                   "client predates it) and flow source is not parsed")
            .with_id("DAGParsingFailed");
    }
    auto value = load_value(parameters_task.flow, info->sha);
    if (!value) return value.take_error();
    return to_json(*value, limits_.render);
}

Result<TaskRefinement> Datastore::refine_task(const TaskPath& task, int attempt,
                                              std::size_t max_pickle_bytes) const {
    auto all = artifacts(task, attempt);
    if (!all) return all.take_error();
    TaskRefinement refinement;
    bool has_task_ok = false;
    for (const auto& artifact : *all) {
        bool task_ok = artifact.name == "_task_ok";
        if (!task_ok && artifact.name != "_foreach_stack") continue;
        has_task_ok = has_task_ok || task_ok;
        if (artifact.size >= max_pickle_bytes) {
            return Error::unprocessable(task.pathspec() + "/" + artifact.name + ": " +
                                        std::to_string(artifact.size) + " bytes")
                .with_id("artifact-too-large");
        }
        auto value = load_value(task.flow, artifact.sha);
        if (!value) return value.take_error();
        const PyNode& root = value->root_node();
        if (task_ok) {
            if (root.kind == PyKind::boolean) refinement.task_ok = root.boolean;
            continue;
        }
        // The first frame's fourth field (ForeachFrame: step, var, num_splits, index, value).
        if ((root.kind == PyKind::list || root.kind == PyKind::tuple) && !root.items.empty()) {
            const PyNode& frame = value->at(root.items[0]);
            if ((frame.kind == PyKind::tuple || frame.kind == PyKind::list) &&
                frame.items.size() >= 4) {
                const PyNode& index = value->at(frame.items[3]);
                if (index.kind == PyKind::integer) refinement.foreach_index = index.integer;
            }
        }
    }
    if (!has_task_ok) return not_found("no _task_ok in " + task.pathspec(), *objects_);
    return refinement;
}

Result<std::vector<LogLine>> Datastore::log(const TaskPath& task, int attempt,
                                            LogStream stream) const {
    std::string prefix = task_folder(task) + "/" + std::to_string(attempt) + ".";
    std::vector<std::string> files;
    bool any = false;
    for (const char* source : log_sources) {
        auto text = objects_->read(prefix + source + "_" + stream_name(stream) + ".log",
                                   limits_.max_log_bytes);
        if (text) {
            files.push_back(std::move(*text));
            any = true;
        } else if (text.error().kind != ErrorKind::not_found) {
            return text.take_error();
        }
    }
    if (any) return merge_mflogs(files);
    auto legacy = objects_->read(prefix + stream_name(stream) + ".log", limits_.max_log_bytes);
    if (legacy) return legacy_log_lines(*legacy);
    if (legacy.error().kind != ErrorKind::not_found) return legacy.take_error();
    return std::vector<LogLine>{};
}

Result<std::uint64_t> Datastore::log_size(const TaskPath& task, int attempt,
                                          LogStream stream) const {
    std::string prefix = task_folder(task) + "/" + std::to_string(attempt) + ".";
    std::uint64_t total = 0;
    for (const char* source : log_sources) {
        auto size = objects_->size(prefix + source + "_" + stream_name(stream) + ".log");
        if (!size) return size.take_error();
        total += size->value_or(0);
    }
    if (total > 0) return total;
    auto legacy = objects_->size(prefix + stream_name(stream) + ".log");
    if (!legacy) return legacy.take_error();
    return legacy->value_or(0);
}

Result<std::vector<CardInfo>> Datastore::cards(const TaskPath& task) const {
    auto files = cards_->list(card_folder(task) + "/cards");
    if (!files) return files.take_error();
    std::vector<CardInfo> found;
    for (const auto& file : *files) {
        if (auto card = parse_card_file(file)) found.push_back(std::move(*card));
    }
    return found;
}

Result<std::optional<CardInfo>> Datastore::find_card(const TaskPath& task,
                                                     const std::string& hash) const {
    auto all = cards(task);
    if (!all) return all.take_error();
    for (auto& card : *all) {
        if (card.hash == hash) return std::optional<CardInfo>(std::move(card));
    }
    return std::optional<CardInfo>();
}

Result<std::string> Datastore::card_html(const TaskPath& task, const std::string& hash) const {
    auto card = find_card(task, hash);
    if (!card) return card.take_error();
    if (!*card) return not_found("no card " + hash + " for " + task.pathspec(), *cards_);
    return cards_->read(card_folder(task) + "/cards/" + (*card)->file, limits_.max_card_bytes);
}

Result<boost::json::value> Datastore::card_data(const TaskPath& task,
                                                const std::string& hash) const {
    auto card = find_card(task, hash);
    if (!card) return card.take_error();
    if (!*card) return not_found("no card " + hash + " for " + task.pathspec(), *cards_);
    const CardInfo& info = **card;
    std::string file = info.file.substr(0, info.file.size() - 5) + ".data.json";
    auto text = cards_->read(card_folder(task) + "/runtime/" + file, limits_.max_card_bytes);
    if (!text) return text.take_error();
    auto data = parse_json(*text, file);
    if (!data) return data.take_error();
    boost::json::value id = info.id ? boost::json::value(*info.id) : boost::json::value(nullptr);
    return boost::json::value{
        {"data", std::move(*data)}, {"id", std::move(id)}, {"type", info.type}};
}

}  // namespace mf::datastore

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "datastore/aws_credentials.hpp"
#include "datastore/mflog.hpp"
#include "datastore/object_store.hpp"
#include "datastore/pickle.hpp"
#include "datastore/value_render.hpp"
#include "model/result.hpp"

namespace mf::datastore {

// A task as its datastore folder names it: the run's run_id if it has one, else its number;
// the task's name if it has one, else its id.
struct TaskPath {
    std::string flow;
    std::string run;
    std::string step;
    std::string task;

    std::string pathspec() const { return flow + "/" + run + "/" + step + "/" + task; }
};

// One artifact of a task attempt as `<attempt>.data.json` lists it.
struct ArtifactInfo {
    std::string name;
    std::string sha;
    std::string type;        // e.g. "<class 'dict'>"
    std::string encoding;    // e.g. "pickle-v4" (always gzip-compressed in the store)
    std::uint64_t size = 0;  // bytes of the pickle
};

enum class LogStream { out, err };

struct CardInfo {
    std::string type;
    std::optional<std::string> id;
    std::string hash;
    std::string file;  // the HTML file's name
};

// What the UI's task refinement reads: `_task_ok` and the first foreach frame's index.
struct TaskRefinement {
    std::optional<bool> task_ok;
    std::optional<std::int64_t> foreach_index;
};

struct DatastoreLimits {
    std::size_t max_blob_bytes = std::size_t{64} << 20;    // a compressed artifact
    std::size_t max_value_bytes = std::size_t{256} << 20;  // its pickle, uncompressed
    std::size_t max_log_bytes = std::size_t{1} << 30;      // one log file
    std::size_t max_card_bytes = std::size_t{64} << 20;
    std::size_t max_metadata_bytes = std::size_t{64} << 20;  // one <attempt>.data.json
    PickleLimits pickle;
    RenderLimits render;
};

// Reads what Metaflow flows wrote to their datastore, in its layout:
//   <flow>/<run>/<step>/<task>/<attempt>.data.json       artifacts of an attempt
//   <flow>/data/<sha[:2]>/<sha>                           gzip of a pickle, by content
//   <flow>/<run>/<step>/<task>/<attempt>.<source>_<stream>.log  MFLOG, sources runtime, task
//   <flow>/<run>/<step>/<task>/<attempt>.<stream>.log     a log from before MFLOG
// and, in the card store, <flow>/runs/<run>/steps/<step>/tasks/<task>/cards/<type>-[<id>-]
// <hash>.html with realtime data in .../runtime/<same name>.data.json. It knows neither HTTP
// nor SQL; every call blocks (see AsyncDatastore).
class Datastore {
public:
    Datastore(std::shared_ptr<ObjectStore> objects, std::shared_ptr<ObjectStore> cards,
              DatastoreLimits limits = {});

    // From METAFLOW_DATASTORE_SYSROOT_S3 (with METAFLOW_S3_ENDPOINT_URL, AWS_REGION or
    // AWS_DEFAULT_REGION, METAFLOW_CARD_S3ROOT and the AWS credential chain) or else
    // METAFLOW_DATASTORE_SYSROOT_LOCAL (the store is its `.metaflow` folder). nullptr when
    // neither is set.
    static Result<std::shared_ptr<Datastore>> from_environment(const EnvLookup& env);

    const ObjectStore& objects() const { return *objects_; }

    Result<std::vector<ArtifactInfo>> artifacts(const TaskPath& task, int attempt) const;
    Result<PyGraph> load_value(const std::string& flow, const std::string& sha) const;

    // An artifact's value as the UI shows it (`content` of an artifact with postprocess):
    // Python str() after a JSON round trip; "artifact-too-large" when its pickle has
    // `max_pickle_bytes` bytes or more (MAX_PROCESSABLE_S3_ARTIFACT_SIZE_KB).
    Result<std::string> artifact_content(const TaskPath& task, int attempt, const std::string& name,
                                         std::size_t max_pickle_bytes) const;

    // A run's parameters from its `_parameters` task: {"<name>": {"value": <JSON>}} for the
    // artifacts not starting with "_" other than "name" and "script_name".
    Result<boost::json::object> parameters(const TaskPath& parameters_task) const;
    // The run's DAG: the `_graph_info` artifact of its `_parameters` task, as JSON.
    Result<boost::json::value> dag(const TaskPath& parameters_task) const;
    // `_task_ok` and the foreach index; an error "artifact-too-large" when either artifact's
    // pickle has `max_pickle_bytes` or more; not_found when the attempt has no `_task_ok`.
    Result<TaskRefinement> refine_task(const TaskPath& task, int attempt,
                                       std::size_t max_pickle_bytes) const;

    Result<std::vector<LogLine>> log(const TaskPath& task, int attempt, LogStream stream) const;
    // The bytes of the attempt's log files of `stream`: it changes when a log grows.
    Result<std::uint64_t> log_size(const TaskPath& task, int attempt, LogStream stream) const;

    Result<std::vector<CardInfo>> cards(const TaskPath& task) const;
    Result<std::string> card_html(const TaskPath& task, const std::string& hash) const;
    // {"data": <the realtime data file>, "id", "type"} for a card with realtime data.
    Result<boost::json::value> card_data(const TaskPath& task, const std::string& hash) const;

private:
    std::shared_ptr<ObjectStore> objects_;
    std::shared_ptr<ObjectStore> cards_;
    DatastoreLimits limits_;

    Result<ArtifactInfo> artifact(const TaskPath& task, int attempt, const std::string& name) const;
    Result<std::optional<CardInfo>> find_card(const TaskPath& task, const std::string& hash) const;
};

std::string task_folder(const TaskPath& task);
std::string blob_key(const std::string& flow, const std::string& sha);
std::string card_folder(const TaskPath& task);
// "<type>-<hash>.html" or "<type>-<id>-<hash>.html"; nullopt for other names.
std::optional<CardInfo> parse_card_file(const std::string& file);

}  // namespace mf::datastore

#include "store/sqlite/sqlite_rows.hpp"

namespace mf::sqlite {
namespace {

JsonText json_column(const Statement& row, int column) {
    return row.optional_text(column).value_or(kJsonNull);
}

}  // namespace

Flow flow_row(const Statement& row) {
    return Flow{
        .flow_id = row.text(0),
        .user_name = row.optional_text(1),
        .ts_epoch = row.int64(2),
        .tags = json_column(row, 3),
        .system_tags = json_column(row, 4),
    };
}

Run run_row(const Statement& row) {
    return Run{
        .flow_id = row.text(0),
        .run_number = row.int64(1),
        .run_id = row.optional_text(2),
        .user_name = row.optional_text(3),
        .ts_epoch = row.int64(4),
        .tags = json_column(row, 5),
        .system_tags = json_column(row, 6),
        .last_heartbeat_ts = row.optional_int64(7),
        .status = std::nullopt,
    };
}

Step step_row(const Statement& row) {
    return Step{
        .flow_id = row.text(0),
        .run_number = row.int64(1),
        .run_id = row.optional_text(2),
        .step_name = row.text(3),
        .user_name = row.optional_text(4),
        .ts_epoch = row.int64(5),
        .tags = json_column(row, 6),
        .system_tags = json_column(row, 7),
    };
}

Task task_row(const Statement& row) {
    return Task{
        .flow_id = row.text(0),
        .run_number = row.int64(1),
        .run_id = row.optional_text(2),
        .step_name = row.text(3),
        .task_id = row.int64(4),
        .task_name = row.optional_text(5),
        .user_name = row.optional_text(6),
        .ts_epoch = row.int64(7),
        .tags = json_column(row, 8),
        .system_tags = json_column(row, 9),
        .last_heartbeat_ts = row.optional_int64(10),
    };
}

Metadata metadata_row(const Statement& row) {
    return Metadata{
        .id = row.int64(0),
        .flow_id = row.text(1),
        .run_number = row.int64(2),
        .run_id = row.optional_text(3),
        .step_name = row.text(4),
        .task_id = row.int64(5),
        .task_name = row.optional_text(6),
        .field_name = row.text(7),
        .value = row.text(8),
        .type = row.text(9),
        .user_name = row.optional_text(10),
        .ts_epoch = row.int64(11),
        .tags = json_column(row, 12),
        .system_tags = json_column(row, 13),
    };
}

Artifact artifact_row(const Statement& row) {
    return Artifact{
        .flow_id = row.text(0),
        .run_number = row.int64(1),
        .run_id = row.optional_text(2),
        .step_name = row.text(3),
        .task_id = row.int64(4),
        .task_name = row.optional_text(5),
        .name = row.text(6),
        .location = row.text(7),
        .ds_type = row.text(8),
        .sha = row.optional_text(9),
        .type = row.optional_text(10),
        .content_type = row.optional_text(11),
        .user_name = row.optional_text(12),
        .attempt_id = static_cast<std::int32_t>(row.int64(13)),
        .ts_epoch = row.int64(14),
        .tags = json_column(row, 15),
        .system_tags = json_column(row, 16),
    };
}

SqlQuery& match_run(SqlQuery& query, const ObjectKey& run) {
    if (run.is_number()) return query.sql("r.run_number = ").value(run.as_number());
    return query.sql("r.run_id = ").value(run.as_name());
}

SqlQuery& match_task(SqlQuery& query, const ObjectKey& task) {
    if (task.is_number()) return query.sql("t.task_id = ").value(task.as_number());
    return query.sql("t.task_name = ").value(task.as_name());
}

SqlQuery& from_run(SqlQuery& query, std::string_view joins, const std::string& flow_id,
                   const ObjectKey& run) {
    query.sql(" FROM runs_v3 r").sql(joins).sql(" WHERE r.flow_id = ").value(flow_id).sql(" AND ");
    return match_run(query, run);
}

SqlQuery& from_task(SqlQuery& query, std::string_view more_joins, const std::string& flow_id,
                    const ObjectKey& run, const std::string& step_name, const ObjectKey& task) {
    query.sql(" FROM runs_v3 r").sql(kJoinTasks).sql(more_joins);
    query.sql(" WHERE r.flow_id = ").value(flow_id).sql(" AND ");
    match_run(query, run).sql(" AND t.step_name = ").value(step_name).sql(" AND ");
    return match_task(query, task);
}

}  // namespace mf::sqlite

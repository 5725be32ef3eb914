#include "store/sqlite/sqlite_operations.hpp"
#include "store/ui_sql.hpp"

namespace mf::sqlite {

Result<std::vector<UiRow>> read_ui_list(Connection& db, const UiListQuery& query) {
    SqlQuery sql;
    if (auto ok = mf::sql::UiSql<mf::sql::Dialect::sqlite, SqlQuery>(sql).list(query); !ok)
        return ok.take_error();
    const int width =
        query.distinct_column ? 1 : static_cast<int>(ui_columns(query.resource).size());
    Statement statement = sql.prepare(db);
    std::vector<UiRow> rows;
    while (statement.step()) {
        UiRow row;
        row.reserve(static_cast<std::size_t>(width));
        for (int column = 0; column < width; ++column)
            row.push_back(statement.optional_text(column));
        rows.push_back(std::move(row));
    }
    return rows;
}

Result<std::vector<std::string>> read_ui_run_tags(Connection& db) {
    SqlQuery sql;
    mf::sql::UiSql<mf::sql::Dialect::sqlite, SqlQuery>(sql).run_tags();
    Statement statement = sql.prepare(db);
    std::vector<std::string> tags;
    while (statement.step()) tags.push_back(statement.text(0));
    return tags;
}

}  // namespace mf::sqlite

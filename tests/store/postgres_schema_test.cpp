// The schema our migrations build, read from PostgreSQL's catalog, against the reference's
// as transcribed in tests/fixtures/postgres/reference-schema.json: then a database the
// Python service made is one we can serve, and the other way round.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_schema.hpp"
#include "support/test_database.hpp"
#include "support/test_server.hpp"

namespace mf::testing {
namespace {

namespace json = boost::json;

json::value reference_schema() {
    std::ifstream file(std::string(MF_TEST_FIXTURES) + "/postgres/reference-schema.json");
    std::stringstream text;
    text << file.rdbuf();
    return json::parse(text.str());
}

// "name type NULL|NOT NULL [DEFAULT ...]" per column, in column order.
json::array columns(pg::BlockingConnection& db, const std::string& table) {
    auto rows = db.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d ON "
        "d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = $1::regclass AND "
        "a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        {table});
    json::array list;
    for (int row = 0; row < rows.size(); ++row) {
        std::string type =
            std::regex_replace(rows.text(row, 1), std::regex("character varying"), "varchar");
        std::string column =
            rows.text(row, 0) + " " + type + (rows.boolean(row, 2) ? " NOT NULL" : " NULL");
        if (!rows.is_null(row, 3)) column += " DEFAULT " + rows.text(row, 3);
        list.emplace_back(column);
    }
    return list;
}

json::object constraints(pg::BlockingConnection& db, const std::string& table) {
    auto rows = db.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
        "$1::regclass",
        {table});
    json::object found;
    for (int row = 0; row < rows.size(); ++row) found[rows.text(row, 0)] = rows.text(row, 1);
    return found;
}

// Indexes other than those of constraints: "method (columns)", whitespace collapsed.
json::object indexes(pg::BlockingConnection& db, const std::string& table) {
    auto rows = db.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON "
        "c.oid = i.indexrelid WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM "
        "pg_constraint k WHERE k.conindid = i.indexrelid)",
        {table});
    json::object found;
    for (int row = 0; row < rows.size(); ++row) {
        std::string definition = rows.text(row, 1);
        definition = definition.substr(definition.find(" USING ") + 7);
        definition = std::regex_replace(definition, std::regex("\\s+"), " ");
        definition = std::regex_replace(definition, std::regex("\\( "), "(");
        definition = std::regex_replace(definition, std::regex(" \\)"), ")");
        // Tuning, not schema: the migrations turn deduplication off in two of the reference's
        // name indexes, whose definitions stay the reference's.
        definition =
            std::regex_replace(definition, std::regex(" WITH \\(deduplicate_items=off\\)"), "");
        found[rows.text(row, 0)] = definition;
    }
    return found;
}

TEST(PostgresSchemaTest, MigratedSchemaIsTheReferences) {
    if (!testing_postgres()) GTEST_SKIP() << "PostgreSQL pass only";
    TempDir dir;
    TestDatabase database(dir.path());
    pg::BlockingConnection db(database.url());
    pg::apply_migrations(db);

    const json::value reference = reference_schema();
    for (const auto& [table, expected] : reference.at("tables").as_object()) {
        const std::string name(table);
        SCOPED_TRACE(name);
        EXPECT_EQ(json::value(columns(db, name)), expected.at("columns"));
        EXPECT_EQ(json::value(constraints(db, name)), expected.at("constraints"));
        EXPECT_EQ(json::value(indexes(db, name)), expected.at("indexes"));
    }
    EXPECT_EQ(json::value(columns(db, "goose_db_version")), reference.at("goose_db_version"));

    auto sequences = db.execute("SELECT sequencename, data_type::text FROM pg_sequences");
    json::object found;
    for (int row = 0; row < sequences.size(); ++row) {
        if (sequences.text(row, 0) != "goose_db_version_id_seq")
            found[sequences.text(row, 0)] = sequences.text(row, 1);
    }
    EXPECT_EQ(json::value(found), reference.at("sequences"));
}

}  // namespace
}  // namespace mf::testing

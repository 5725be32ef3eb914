#pragma once

#include <string>

#include "store/postgres/pg_connection.hpp"

// The change-notification triggers (README.md#postgresql), which feed the UI's realtime updates: on
// each table, after the rows the metadata service's configuration names change,
// pg_notify('notify', '{"table", "schema", "operation", "data": {key columns}}').
namespace mf::pg {

// Creates, in `schema` (DB_SCHEMA_NAME), each table's function and trigger
// notify_ui_05092024_<table> unless a trigger of that name is already on the table (whoever
// creates it first, this service or the UI backend, fixes its definition), and drops older
// notify_ui* triggers with their functions. Safe to run from several processes at once.
// Throws std::runtime_error.
void create_notify_triggers(BlockingConnection& db, const std::string& schema);

}  // namespace mf::pg

#pragma once

#include <string>
#include <utility>

namespace mf {

// One error type for every layer. The API layer turns each kind into a status code and
// body in a single place (api/reply.cpp), so the wire quirks of the reference stay there.
enum class ErrorKind {
    not_found,       // a single-object read found no row
    missing_parent,  // a create names a parent that does not exist
    register_first,  // metadata/artifacts posted for an unknown run or task
    already_exists,  // a unique key is taken
    invalid,         // the request itself is wrong
    unprocessable,   // well-formed but refused by a domain rule
    retry_conflict,  // a concurrent change won; the client may retry
    unavailable,     // the database cannot be reached or timed out
    storage_full,    // the database has no space left
    internal,        // anything else
};

struct Error {
    ErrorKind kind;
    std::string message;
    // The reference UI's name for this failure where it shows one (e.g. "MetaflowS3AccessDenied",
    // "artifact-too-large"); empty for the metadata API, which has none.
    std::string id;

    static Error not_found(std::string m = {}) { return {ErrorKind::not_found, std::move(m)}; }
    static Error missing_parent(std::string m) { return {ErrorKind::missing_parent, std::move(m)}; }
    static Error register_first() {
        return {ErrorKind::register_first, "need to register run_id and task_id first"};
    }
    static Error already_exists(std::string m) { return {ErrorKind::already_exists, std::move(m)}; }
    static Error invalid(std::string m) { return {ErrorKind::invalid, std::move(m)}; }
    static Error unprocessable(std::string m) { return {ErrorKind::unprocessable, std::move(m)}; }
    static Error retry_conflict(std::string m) { return {ErrorKind::retry_conflict, std::move(m)}; }
    static Error unavailable(std::string m) { return {ErrorKind::unavailable, std::move(m)}; }
    static Error storage_full(std::string m) { return {ErrorKind::storage_full, std::move(m)}; }
    static Error internal(std::string m) { return {ErrorKind::internal, std::move(m)}; }
    Error with_id(std::string ui_id) && {
        id = std::move(ui_id);
        return std::move(*this);
    }
};

}  // namespace mf

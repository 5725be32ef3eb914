#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.hpp"

namespace mf::ui {

// What index.html gets before it is served: the UI's API base and the operator's optional
// snippets.
struct PageInjections {
    std::string service;      // window.METAFLOW_SERVICE, inserted before </head>
    std::string head;         // before </head>
    std::string body_before;  // after <body>
    std::string body_after;   // before </body>
};

// The files of a folder, read from disk once and kept in memory with their content types,
// ETags and a gzip copy of each file that compresses.
class StaticFiles {
public:
    struct File {
        std::string content_type;
        std::string cache_control;
        std::string body;
        std::optional<std::string> gzipped;  // only when it is smaller
        std::string etag;                    // of `body`; the gzip copy's adds "-gz"
    };

    // Reads every file under `folder`, passing index.html's text through `edit_index`.
    // Files under `immutable_under` (e.g. "/static/", whose names carry a content hash) may
    // be cached for a year; the others are checked again each time.
    StaticFiles(const std::filesystem::path& folder, std::string_view immutable_under,
                const std::function<std::string(std::string)>& edit_index = {});

    // The file at `path` (decoded, from '/', e.g. "/static/js/a.js"); null if none.
    const File* find(std::string_view path) const;
    // Paths from '/', sorted.
    std::vector<std::string> paths() const;
    std::size_t size() const { return files_.size(); }

    // The reply with `file`, as Accept-Encoding and If-None-Match ask.
    static http::Reply reply(const File& file, const http::Request& request);

private:
    std::unordered_map<std::string, File> files_;
};

// A metaflow-ui build served as a single-page application.
class StaticBundle {
public:
    // Reads the build in `folder`; throws naming the folder when it has no index.html.
    StaticBundle(const std::filesystem::path& folder, const PageInjections& injections);

    // The reply to a GET of `path` (decoded, from '/') that no API route takes: the file, or
    // index.html for a path where the UI, routing in the browser, has a page (at most four
    // segments, none empty, not under /static/, /metadata/, /plugin/, /search/ or /ws). Any
    // other path is an API path that does not exist: the reference's 404 "404: Not Found".
    http::Reply serve(const http::Request& request, std::string_view path) const;

    std::size_t file_count() const { return files_.size(); }

private:
    StaticFiles files_;
    const StaticFiles::File* index_ = nullptr;
};

// The page `/` answers when no build is configured.
http::Reply missing_bundle_page();

}  // namespace mf::ui

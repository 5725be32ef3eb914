#include "ui/static_bundle.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "api/json_writer.hpp"
#include "model/text.hpp"
#include "ui/gzip.hpp"

namespace mf::ui {
namespace {

namespace fs = std::filesystem;

std::string content_type_of(std::string_view path) {
    static const std::unordered_map<std::string_view, std::string_view> types = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".ttf", "font/ttf"},
        {".eot", "application/vnd.ms-fontobject"},
        {".wasm", "application/wasm"},
    };
    auto dot = path.rfind('.');
    auto slash = path.rfind('/');
    if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) {
        auto found = types.find(path.substr(dot));
        if (found != types.end()) return std::string(found->second);
    }
    return "application/octet-stream";
}

// Already compressed formats gain nothing from gzip.
bool compressible(std::string_view content_type) {
    return content_type.starts_with("text/") || content_type.starts_with("application/json") ||
           content_type == "image/svg+xml" || content_type == "image/x-icon" ||
           content_type == "font/ttf" || content_type == "application/vnd.ms-fontobject" ||
           content_type == "application/wasm";
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string strong_etag(std::string_view body) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string tag = "\"";
    for (int i = 0; i < 12; ++i) {
        tag += kHex[digest[i] >> 4];
        tag += kHex[digest[i] & 15];
    }
    return tag;  // without its closing quote, so that a variant can extend it
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

// A JavaScript string literal (JSON's) that also cannot end the <script> element it sits in:
// '<' only appears in the literal as itself, never inside an escape.
std::string script_string(std::string_view text) {
    std::string literal = api::json_string(text);
    replace_all(literal, "<", "\\u003c");
    return literal;
}

std::string inject(std::string page, const PageInjections& injections) {
    replace_all(page, "</head>",
                "<script>window.METAFLOW_SERVICE=" + script_string(injections.service) +
                    ";</script></head>");
    if (!injections.head.empty()) replace_all(page, "</head>", injections.head + "</head>");
    if (!injections.body_before.empty()) {
        replace_all(page, "<body>", "<body>" + injections.body_before);
    }
    if (!injections.body_after.empty()) {
        replace_all(page, "</body>", injections.body_after + "</body>");
    }
    return page;
}

// Whether Accept-Encoding admits gzip: listed (or `*`) without q=0.
bool accepts_gzip(const http::Request& request) {
    const auto* header = request.header("accept-encoding");
    if (!header) return false;
    for (const auto item : split(*header, ',')) {
        auto semicolon = item.find(';');
        auto coding = trim_space(item.substr(0, semicolon));
        if (coding != "gzip" && coding != "*") continue;
        if (semicolon == std::string_view::npos) return true;
        auto parameter = trim_space(item.substr(semicolon + 1));
        if (!parameter.starts_with("q=")) return true;
        auto quality = parameter.substr(2);
        return quality.find_first_not_of("0.") != std::string_view::npos;
    }
    return false;
}

// Whether If-None-Match names `etag` (weak comparison, as for GET) or is `*`.
bool matches_etag(const http::Request& request, std::string_view etag) {
    const auto* header = request.header("if-none-match");
    if (!header) return false;
    for (auto item : split(*header, ',')) {
        item = trim_space(item);
        if (item.starts_with("W/")) item.remove_prefix(2);
        if (item == "*" || item == etag) return true;
    }
    return false;
}

}  // namespace

StaticFiles::StaticFiles(const fs::path& folder, std::string_view immutable_under,
                         const std::function<std::string(std::string)>& edit_index) {
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
        if (!entry.is_regular_file()) continue;
        auto path = "/" + entry.path().lexically_relative(folder).generic_string();
        auto body = read_file(entry.path());
        if (path == "/index.html" && edit_index) body = edit_index(std::move(body));
        File file;
        file.content_type = content_type_of(path);
        file.cache_control = !immutable_under.empty() && path.starts_with(immutable_under)
                                 ? "public, max-age=31536000, immutable"
                                 : "no-cache";
        if (compressible(file.content_type)) {
            auto packed = gzip(body);
            if (packed.size() < body.size()) file.gzipped = std::move(packed);
        }
        file.etag = strong_etag(body);
        file.body = std::move(body);
        files_.emplace(std::move(path), std::move(file));
    }
}

const StaticFiles::File* StaticFiles::find(std::string_view path) const {
    auto found = files_.find(std::string(path));
    return found == files_.end() ? nullptr : &found->second;
}

std::vector<std::string> StaticFiles::paths() const {
    std::vector<std::string> all;
    for (const auto& [path, file] : files_) all.push_back(path);
    std::sort(all.begin(), all.end());
    return all;
}

http::Reply StaticFiles::reply(const File& file, const http::Request& request) {
    const bool packed = file.gzipped && accepts_gzip(request);
    const std::string etag = file.etag + (packed ? "-gz\"" : "\"");
    http::Reply reply;
    reply.version_header = false;
    reply.content_type = file.content_type;
    reply.headers.emplace_back("ETag", etag);
    reply.headers.emplace_back("Cache-Control", file.cache_control);
    if (file.gzipped) reply.headers.emplace_back("Vary", "Accept-Encoding");
    if (matches_etag(request, etag)) {
        reply.status = 304;
        return reply;
    }
    if (packed) {
        reply.headers.emplace_back("Content-Encoding", "gzip");
        reply.body = *file.gzipped;
    } else {
        reply.body = file.body;
    }
    return reply;
}

StaticBundle::StaticBundle(const fs::path& folder, const PageInjections& injections)
    : files_(folder, "/static/",
             [&injections](std::string page) { return inject(std::move(page), injections); }) {
    index_ = files_.find("/index.html");
    if (!index_) {
        throw std::runtime_error("the UI folder " + folder.string() +
                                 " has no index.html: point it at a metaflow-ui build");
    }
}

namespace {

// The first segments of the API's own paths, which no page of the UI starts with.
constexpr std::array<std::string_view, 5> kApiNamespaces = {"metadata", "plugin", "search",
                                                            "static", "ws"};
// The UI's deepest page: /<flow>/<run>/<step>/<task> (or /<flow>/<run>/view/<view>).
constexpr std::size_t kMaxPageSegments = 4;

// Whether the UI, routing in the browser, has a page at `path` (decoded, from "/"): at most
// four non-empty segments, not in a namespace of the API. Any other path that no route takes
// is an API path that does not exist.
bool ui_page(std::string_view path) {
    if (path == "/") return true;
    std::size_t segments = 0;
    std::string_view rest = path.substr(1);
    while (true) {
        const auto slash = rest.find('/');
        const auto segment = rest.substr(0, slash);
        if (segment.empty()) return false;
        if (segments == 0) {
            for (auto reserved : kApiNamespaces) {
                if (segment == reserved) return false;
            }
        }
        if (++segments > kMaxPageSegments) return false;
        if (slash == std::string_view::npos) return true;
        rest.remove_prefix(slash + 1);
    }
}

}  // namespace

http::Reply StaticBundle::serve(const http::Request& request, std::string_view path) const {
    if (const auto* file = files_.find(path)) return StaticFiles::reply(*file, request);
    if (!ui_page(path)) {
        http::Reply missing;
        missing.status = 404;
        missing.body = "404: Not Found";
        missing.version_header = false;
        return missing;
    }
    return StaticFiles::reply(*index_, request);
}

http::Reply missing_bundle_page() {
    http::Reply reply;
    reply.version_header = false;
    reply.content_type = "text/html; charset=utf-8";
    reply.headers.emplace_back("Cache-Control", "no-cache");
    reply.body = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Metaflow UI</title></head>
<body>
<h1>Metaflow UI</h1>
<p>This service serves the Metaflow web UI's API here, but no UI build is configured.</p>
<p>Start it with <code>--ui-dir /path/to/metaflow-ui-build</code> (or the environment variable
<code>MF_UI_STATIC_DIR</code>) pointing at a metaflow-ui production build: the folder that
holds its <code>index.html</code> and <code>static/</code>. The documentation's page on the UI
(<code>docs/ui.md</code>) says where to get one.</p>
</body></html>
)";
    return reply;
}

}  // namespace mf::ui

#include <algorithm>

#include "api/json_writer.hpp"
#include "ui/resource_routes.hpp"

namespace mf::ui {

// Every tag and system tag of every run, as a bare array.
void add_tag_routes(http::Router& router, const DatabaseContext& context) {
    router.add("GET", "/tags", [&context](http::Request&) -> boost::asio::awaitable<http::Reply> {
        auto tags = co_await context.reader.ui_run_tags();
        if (!tags) {
            co_return json_reply(tags.error().kind == ErrorKind::unavailable ? 503 : 500,
                                 "{\"id\": \"generic-error\", \"status\": 500}");
        }
        std::sort(tags->begin(), tags->end());
        std::string body = "[";
        for (std::size_t i = 0; i < tags->size(); ++i) {
            if (i > 0) body += ", ";
            body += api::json_string((*tags)[i]);
        }
        body += ']';
        co_return json_reply(200, std::move(body));
    });
}

}  // namespace mf::ui

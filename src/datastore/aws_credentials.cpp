#include "datastore/aws_credentials.hpp"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include <boost/json.hpp>

#include "datastore/http_fetch.hpp"
#include "model/text.hpp"

namespace mf::datastore {
namespace {

using Clock = std::chrono::system_clock;
using Section = std::map<std::string, std::string>;

std::optional<std::string> non_empty(const EnvLookup& env, const std::string& name) {
    auto value = env(name);
    if (value && !value->empty()) return value;
    return std::nullopt;
}

std::map<std::string, Section> read_ini(const std::string& path) {
    std::map<std::string, Section> sections;
    std::ifstream in(path);
    std::string line;
    std::string current;
    while (std::getline(in, line)) {
        line = std::string(trim_space(line));
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line.front() == '[' && line.back() == ']') {
            current = trim_space(std::string_view(line).substr(1, line.size() - 2));
            continue;
        }
        auto equals = line.find('=');
        if (equals == std::string::npos) continue;
        sections[current][std::string(trim_space(std::string_view(line).substr(0, equals)))] =
            trim_space(std::string_view(line).substr(equals + 1));
    }
    return sections;
}

std::string home_file(const EnvLookup& env, const std::string& relative) {
    auto home = non_empty(env, "HOME");
    return (home ? *home : std::string(".")) + "/" + relative;
}

std::string profile_name(const EnvLookup& env) {
    if (auto profile = non_empty(env, "AWS_PROFILE")) return *profile;
    if (auto profile = non_empty(env, "AWS_DEFAULT_PROFILE")) return *profile;
    return "default";
}

std::optional<Section> config_profile(const EnvLookup& env) {
    auto path = non_empty(env, "AWS_CONFIG_FILE").value_or(home_file(env, ".aws/config"));
    auto sections = read_ini(path);
    auto profile = profile_name(env);
    auto found = sections.find(profile == "default" ? "default" : "profile " + profile);
    if (found == sections.end()) return std::nullopt;
    return found->second;
}

// "2026-12-05T10:00:00Z" (fractions and offsets other than Z are not used by AWS here).
std::optional<Clock::time_point> parse_iso8601(const std::string& text) {
    std::tm parts{};
    std::istringstream in(text);
    in >> std::get_time(&parts, "%Y-%m-%dT%H:%M:%S");
    if (in.fail()) return std::nullopt;
    return Clock::from_time_t(timegm(&parts));
}

std::string xml_field(const std::string& xml, const std::string& name) {
    auto open = xml.find("<" + name + ">");
    if (open == std::string::npos) return "";
    open += name.size() + 2;
    auto close = xml.find("</" + name + ">", open);
    if (close == std::string::npos) return "";
    return xml.substr(open, close - open);
}

Error no_credentials(std::string why) {
    return Error::unavailable("no AWS credentials: " + std::move(why))
        .with_id("MetaflowS3AccessDenied");
}

Result<AwsCredentials> from_json_document(const std::string& body, const std::string& source) {
    boost::system::error_code error;
    auto document = boost::json::parse(body, error);
    if (error || !document.is_object()) return no_credentials(source + " answered no JSON");
    const auto& object = document.as_object();
    auto text = [&](const char* key) -> std::string {
        auto found = object.find(key);
        return found != object.end() && found->value().is_string()
                   ? std::string(found->value().as_string())
                   : std::string();
    };
    AwsCredentials credentials{.access_key_id = text("AccessKeyId"),
                               .secret_access_key = text("SecretAccessKey"),
                               .session_token = text("Token"),
                               .expiration = parse_iso8601(text("Expiration")),
                               .source = source};
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
        return no_credentials(source + " answered no keys");
    }
    return credentials;
}

Result<AwsCredentials> fetch_credentials(HttpRequest request, const std::string& source) {
    auto response = http_fetch(request);
    if (!response) return no_credentials(source + ": " + response.error().message);
    if (response->status != 200) {
        return no_credentials(source + " answered HTTP " + std::to_string(response->status));
    }
    return from_json_document(response->body, source);
}

std::optional<AwsCredentials> from_environment(const EnvLookup& env) {
    auto key = non_empty(env, "AWS_ACCESS_KEY_ID");
    auto secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
    if (!key || !secret) return std::nullopt;
    return AwsCredentials{.access_key_id = *key,
                          .secret_access_key = *secret,
                          .session_token = non_empty(env, "AWS_SESSION_TOKEN").value_or(""),
                          .source = "environment"};
}

std::optional<AwsCredentials> from_shared_files(const EnvLookup& env) {
    auto path =
        non_empty(env, "AWS_SHARED_CREDENTIALS_FILE").value_or(home_file(env, ".aws/credentials"));
    auto sections = read_ini(path);
    std::optional<Section> profile;
    if (auto found = sections.find(profile_name(env)); found != sections.end()) {
        profile = found->second;
    } else {
        profile = config_profile(env);
    }
    if (!profile || !profile->count("aws_access_key_id") ||
        !profile->count("aws_secret_access_key")) {
        return std::nullopt;
    }
    auto token = profile->find("aws_session_token");
    return AwsCredentials{.access_key_id = profile->at("aws_access_key_id"),
                          .secret_access_key = profile->at("aws_secret_access_key"),
                          .session_token = token == profile->end() ? "" : token->second,
                          .source = "shared-credentials-file"};
}

Result<AwsCredentials> from_web_identity(const EnvLookup& env, const std::string& token_file,
                                         const std::string& role_arn) {
    std::ifstream in(token_file);
    std::stringstream token;
    token << in.rdbuf();
    if (!in) return no_credentials("cannot read AWS_WEB_IDENTITY_TOKEN_FILE " + token_file);
    auto region = non_empty(env, "AWS_REGION")
                      .value_or(non_empty(env, "AWS_DEFAULT_REGION").value_or("us-east-1"));
    auto endpoint =
        non_empty(env, "AWS_ENDPOINT_URL_STS").value_or("https://sts." + region + ".amazonaws.com");
    auto session = non_empty(env, "AWS_ROLE_SESSION_NAME").value_or("metaflow-ui-backend");
    HttpRequest request{.method = "POST", .url = endpoint + "/"};
    request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    request.body =
        "Action=AssumeRoleWithWebIdentity&RoleArn=" + uri_encode(role_arn, false) +
        "&RoleSessionName=" + uri_encode(session, false) +
        "&Version=2011-06-15&WebIdentityToken=" + uri_encode(trim_space(token.str()), false);
    auto response = http_fetch(request);
    if (!response) return no_credentials("STS: " + response.error().message);
    if (response->status != 200) {
        return no_credentials("STS answered HTTP " + std::to_string(response->status) + " " +
                              xml_field(response->body, "Code"));
    }
    AwsCredentials credentials{.access_key_id = xml_field(response->body, "AccessKeyId"),
                               .secret_access_key = xml_field(response->body, "SecretAccessKey"),
                               .session_token = xml_field(response->body, "SessionToken"),
                               .expiration = parse_iso8601(xml_field(response->body, "Expiration")),
                               .source = "web-identity"};
    if (credentials.access_key_id.empty()) return no_credentials("STS answered no keys");
    return credentials;
}

// botocore allows plain HTTP only to loopback and to the ECS and EKS agents.
bool allowed_container_url(const std::string& url) {
    if (url.rfind("https://", 0) == 0) return true;
    for (const char* host :
         {"http://127.", "http://localhost", "http://[::1]", "http://169.254.170.2",
          "http://169.254.170.23", "http://[fd00:ec2::23]"}) {
        if (url.rfind(host, 0) == 0) return true;
    }
    return false;
}

std::optional<Result<AwsCredentials>> from_container(const EnvLookup& env) {
    std::string url;
    if (auto relative = non_empty(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        url = "http://169.254.170.2" + *relative;
    } else if (auto full = non_empty(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        if (!allowed_container_url(*full)) {
            return Result<AwsCredentials>(
                no_credentials("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback or "
                               "ECS/EKS address"));
        }
        url = *full;
    } else {
        return std::nullopt;
    }
    HttpRequest request{
        .url = url, .timeout = std::chrono::seconds(5), .connect_timeout = std::chrono::seconds(2)};
    std::optional<std::string> authorization;
    if (auto file = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
        std::ifstream in(*file);
        std::stringstream text;
        text << in.rdbuf();
        authorization = std::string(trim_space(text.str()));
    } else {
        authorization = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    if (authorization) request.headers.push_back("Authorization: " + *authorization);
    return fetch_credentials(std::move(request), "container");
}

Result<AwsCredentials> from_instance_metadata(const EnvLookup& env) {
    auto endpoint =
        non_empty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
    if (endpoint.back() == '/') endpoint.pop_back();
    auto quick = [](HttpRequest request) {
        request.timeout = std::chrono::seconds(2);
        request.connect_timeout = std::chrono::seconds(1);
        return request;
    };
    auto token = http_fetch(quick({.method = "PUT",
                                   .url = endpoint + "/latest/api/token",
                                   .headers = {"X-aws-ec2-metadata-token-ttl-seconds: 21600"}}));
    if (!token || token->status != 200) return no_credentials("no instance metadata service");
    std::string token_header = "X-aws-ec2-metadata-token: " + token->body;
    std::string base = endpoint + "/latest/meta-data/iam/security-credentials/";
    auto role = http_fetch(quick({.url = base, .headers = {token_header}}));
    if (!role || role->status != 200 || trim_space(role->body).empty()) {
        return no_credentials("the instance has no IAM role");
    }
    auto name =
        std::string(trim_space(std::string_view(role->body).substr(0, role->body.find('\n'))));
    return fetch_credentials(quick({.url = base + name, .headers = {token_header}}),
                             "instance-metadata");
}

}  // namespace

EnvLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

std::size_t number_or(const EnvLookup& env, const char* name, std::size_t fallback) {
    auto text = env(name);
    if (!text) return fallback;
    return parse_number<std::size_t>(*text).value_or(fallback);
}

std::optional<std::string> config_file_region(const EnvLookup& env) {
    auto profile = config_profile(env);
    if (!profile) return std::nullopt;
    auto region = profile->find("region");
    if (region == profile->end()) return std::nullopt;
    return region->second;
}

AwsCredentialChain::AwsCredentialChain(EnvLookup env, std::chrono::seconds refresh_margin)
    : env_(std::move(env)), refresh_margin_(refresh_margin) {}

Result<AwsCredentials> AwsCredentialChain::get() {
    std::lock_guard lock(mutex_);
    if (cached_ &&
        (!cached_->expiration || Clock::now() + refresh_margin_ < *cached_->expiration)) {
        return *cached_;
    }
    auto fresh = resolve();
    if (fresh) {
        cached_ = *fresh;
    } else if (cached_ && cached_->expiration && Clock::now() < *cached_->expiration) {
        return *cached_;  // a failed refresh keeps credentials that are still valid
    }
    return fresh;
}

void AwsCredentialChain::invalidate() {
    std::lock_guard lock(mutex_);
    cached_.reset();
}

Result<AwsCredentials> AwsCredentialChain::resolve() {
    if (auto credentials = from_environment(env_)) return *credentials;
    auto token_file = non_empty(env_, "AWS_WEB_IDENTITY_TOKEN_FILE");
    auto role_arn = non_empty(env_, "AWS_ROLE_ARN");
    if (token_file && role_arn) return from_web_identity(env_, *token_file, *role_arn);
    if (auto credentials = from_shared_files(env_)) return *credentials;
    if (auto container = from_container(env_)) return std::move(*container);
    if (non_empty(env_, "AWS_EC2_METADATA_DISABLED").value_or("") == "true") {
        return no_credentials("none in the environment, the shared files or a container endpoint");
    }
    return from_instance_metadata(env_);
}

}  // namespace mf::datastore

#include "check/check.hpp"
#include "check/check_spec.hpp"

#include <fmt/format.h>

namespace compensatord::check {
namespace {

constexpr std::int64_t kMaxCheckConnections = 256;

std::vector<std::string> string_list(const yaml::Reader& parent, std::string_view key) {
  std::vector<std::string> out;
  yaml::Reader list = parent.child(key);
  if (!list.present()) return out;
  if (!list.is_sequence()) {
    list.error("expected a list of strings");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (auto v = list.item(i).as_string()) out.push_back(*v);
  }
  return out;
}

std::optional<std::chrono::milliseconds> positive_duration(const yaml::Reader& r, std::string_view key) {
  auto value = r.duration(key);
  if (value && value->count() <= 0) {
    r.child(key).error("must be greater than 0");
    return std::nullopt;
  }
  return value;
}

std::optional<SqlCheckSpec> parse_sql(const yaml::Reader& r) {
  r.reject_unknown_keys({"dsn", "query", "timeout", "max_connections", "committed_values", "absent_values"});
  SqlCheckSpec spec;
  auto dsn = r.string("dsn", true);
  auto query = r.string("query", true);
  if (query && query->find("$1") == std::string::npos) {
    r.child("query").error("the query must use $1 (bound to the xid)");
  }
  if (auto t = positive_duration(r, "timeout")) spec.timeout = *t;
  if (auto n = r.integer("max_connections", 1, kMaxCheckConnections)) spec.max_connections = static_cast<int>(*n);
  spec.committed_values = string_list(r, "committed_values");
  spec.absent_values = string_list(r, "absent_values");
  if (!dsn || !query) return std::nullopt;
  spec.dsn = *dsn;
  spec.query = *query;
  return spec;
}

// Splits "http://host:port/path/{{xid}}" into the base URL and the path template.
bool split_url(const std::string& url, std::string& base, std::string& path) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  const auto path_start = url.find('/', scheme_end + 3);
  base = url.substr(0, path_start);
  path = path_start == std::string::npos ? "/" : url.substr(path_start);
  return base.size() > scheme_end + 3 && base.find("{{") == std::string::npos;
}

std::optional<HttpCheckSpec> parse_http(const yaml::Reader& r) {
  r.reject_unknown_keys({"method", "url", "query", "headers", "timeout", "outcomes"});
  auto url = r.string("url", true);
  auto method = r.string("method").value_or("GET");
  if (method != "GET" && method != "POST") r.child("method").error("expected GET or POST");
  std::string base;
  std::string path_text;
  if (url && (!split_url(*url, base, path_text) || path_text.find('?') != std::string::npos)) {
    r.child("url").error(
        "expected http(s)://host[:port]/path with {{xid}} placeholders in the path only "
        "(put query parameters under `query`)");
    return std::nullopt;
  }
  std::optional<adapters::Template> path;
  if (url) {
    std::string error;
    path = adapters::Template::parse(path_text, adapters::TemplateScope::Transaction, error);
    if (!path) r.child("url").error(error);
  }
  std::vector<std::pair<std::string, adapters::Template>> query;
  yaml::Reader query_reader = r.child("query");
  for (const auto& key : query_reader.keys()) {
    if (auto t = adapters::parse_template(query_reader.child(key), adapters::TemplateScope::Transaction)) {
      query.emplace_back(key, std::move(*t));
    }
  }
  auto headers = r.string_map("headers");
  auto timeout = positive_duration(r, "timeout");
  yaml::Reader outcomes_reader = r.child("outcomes");
  if (!outcomes_reader.present()) outcomes_reader.error("required key is missing");
  auto outcomes = adapters::parse_response_rules(outcomes_reader, {"committed", "absent", "unknown"});
  if (!url || !path) return std::nullopt;
  HttpCheckSpec spec{method,
                     base,
                     std::move(*path),
                     std::move(query),
                     {},
                     timeout.value_or(std::chrono::seconds(5)),
                     std::move(outcomes)};
  spec.headers.assign(headers.begin(), headers.end());
  return spec;
}

}  // namespace

std::shared_ptr<const CheckSpec> parse_check(const yaml::Reader& reader) {
  if (!reader.is_map()) {
    reader.error("expected a map with exactly one of `sql` or `http`");
    return nullptr;
  }
  reader.reject_unknown_keys({"sql", "http"});
  const bool has_sql = reader.child("sql").present();
  const bool has_http = reader.child("http").present();
  if (has_sql == has_http) {
    reader.error("expected exactly one of `sql` or `http`");
    return nullptr;
  }
  if (has_sql) {
    if (auto spec = parse_sql(reader.child("sql"))) return std::make_shared<CheckSpec>(CheckSpec{std::move(*spec)});
  } else if (auto spec = parse_http(reader.child("http"))) {
    return std::make_shared<CheckSpec>(CheckSpec{std::move(*spec)});
  }
  return nullptr;
}

}  // namespace compensatord::check

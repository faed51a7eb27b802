#pragma once
// A kind's validated `check:` config.

#include "adapters/response_rules.hpp"
#include "adapters/template.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace compensatord::check {

// `check.sql`: the query runs on the order database with $1 bound to the xid.
// No row: absent. A row: committed, unless `committed_values` / `absent_values` are given;
// then the first column of the first row is compared with them, and any other value is unknown.
struct SqlCheckSpec {
  std::string dsn;
  std::string query;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  // Open connections to the order database at most; a check waits for a free one (first come,
  // first served) at most `timeout`. The order database is the order service's own: hundreds of
  // workers must not take hundreds of its connections.
  int max_connections = 16;
  std::vector<std::string> committed_values;
  std::vector<std::string> absent_values;
};

// `check.http`: a request templated on the xid; the outcome rules map answers to
// committed / absent / unknown (the default for anything unmatched).
struct HttpCheckSpec {
  std::string method = "GET";
  std::string base_url;  // scheme://host[:port], from the url
  adapters::Template path;
  std::vector<std::pair<std::string, adapters::Template>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // ${ENV} already expanded
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  adapters::ResponseRules outcomes;
};

struct CheckSpec {
  std::variant<SqlCheckSpec, HttpCheckSpec> how;

  // The longest one check may take.
  [[nodiscard]] std::chrono::milliseconds timeout() const {
    return std::visit([](const auto& spec) { return spec.timeout; }, how);
  }
};

}  // namespace compensatord::check

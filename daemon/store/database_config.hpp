#pragma once
// `database`: where compensatord keeps its state (and the pending log), and how long one
// statement or lock wait may take there.

#include "yaml/reader.hpp"

#include <chrono>
#include <string>

namespace compensatord::store {

using std::chrono::milliseconds;

struct DatabaseConfig {
  std::string dsn;  // required
  milliseconds connect_timeout{std::chrono::seconds(5)};
  milliseconds statement_timeout{std::chrono::seconds(30)};
  milliseconds lock_timeout{std::chrono::seconds(5)};  // at most statement_timeout
};

// Reads the `database` section (present and a map), reporting each bad key to its errors.
DatabaseConfig parse_database(const yaml::Reader& section);

}  // namespace compensatord::store

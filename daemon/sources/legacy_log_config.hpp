#pragma once
// `sources.legacy_logs`: the legacy log tables polled with a configured query.

#include "yaml/reader.hpp"

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace compensatord::sources {

struct BranchMapping {
  std::string participant;
  // branch field name -> column of the legacy query's result
  std::map<std::string, std::string> fields;

  bool operator==(const BranchMapping&) const = default;
};

struct LegacyLogConfig {
  std::string name;
  std::string dsn;
  std::string query;  // must return a column named `xid`; may return `due_at` (timestamptz)
  std::string kind;
  std::chrono::milliseconds interval{std::chrono::seconds(10)};
  // The longest one statement of a poll may run: a hung legacy database must not hold the source.
  std::chrono::milliseconds statement_timeout{std::chrono::seconds(30)};
  std::vector<BranchMapping> branches;  // a branch whose mapped columns are all NULL is omitted

  bool operator==(const LegacyLogConfig&) const = default;
};

// The names a legacy log may refer to, as declared in the document (`kinds`, `participants`).
struct KnownNames {
  std::set<std::string> kinds;
  std::set<std::string> participants;
};

// Reads the `legacy_logs` list (absent: none), reporting each bad key to its errors.
std::vector<LegacyLogConfig> parse_legacy_logs(const yaml::Reader& list, const KnownNames& known);

}  // namespace compensatord::sources

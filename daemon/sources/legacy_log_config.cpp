#include "sources/legacy_log_config.hpp"

#include "yaml/fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace compensatord::sources {
namespace {

bool mentions_parameter(const std::string& query) {
  for (std::size_t i = 0; i + 1 < query.size(); ++i) {
    if (query[i] == '$' && std::isdigit(static_cast<unsigned char>(query[i + 1]))) return true;
  }
  return false;
}

std::optional<BranchMapping> parse_branch_mapping(const yaml::Reader& branch,
                                                  const std::set<std::string>& participants) {
  if (!yaml::is_section(branch)) {
    if (!branch.present()) branch.error("expected a map with participant and fields");
    return std::nullopt;
  }
  branch.reject_unknown_keys({"participant", "fields"});
  BranchMapping mapping;
  if (auto participant = branch.string("participant", true)) {
    if (!participants.contains(*participant)) {
      branch.child("participant").error(fmt::format("unknown participant '{}'", *participant));
    }
    mapping.participant = *participant;
  }
  yaml::Reader fields = branch.child("fields");
  if (!fields.present() || (fields.is_map() && fields.size() == 0)) {
    fields.error("required: a map of branch field to result column");
    return mapping;
  }
  mapping.fields = branch.string_map("fields");
  for (const auto& [field, column] : mapping.fields) {
    if (field.empty()) fields.error("branch field names must not be empty");
    if (column.empty()) fields.child(field).error("result column must not be empty");
  }
  return mapping;
}

std::vector<BranchMapping> parse_branch_mappings(const yaml::Reader& source,
                                                 const std::set<std::string>& participants) {
  std::vector<BranchMapping> mappings;
  yaml::Reader branches = source.child("branches");
  if (!branches.present() || (branches.is_sequence() && branches.size() == 0)) {
    branches.error("at least one branch mapping is required");
    return mappings;
  }
  if (!branches.is_sequence()) {
    branches.error("expected a list of {participant, fields}");
    return mappings;
  }
  for (std::size_t i = 0; i < branches.size(); ++i) {
    if (auto mapping = parse_branch_mapping(branches.item(i), participants)) mappings.push_back(std::move(*mapping));
  }
  return mappings;
}

std::optional<LegacyLogConfig> parse_legacy_log(const yaml::Reader& source, const KnownNames& known) {
  if (!yaml::is_section(source)) {
    if (!source.present()) source.error("expected a map with name, dsn, query, kind and branches");
    return std::nullopt;
  }
  source.reject_unknown_keys({"name", "dsn", "query", "kind", "interval", "statement_timeout", "branches"});
  LegacyLogConfig legacy;
  if (auto name = source.string("name", true); name && yaml::valid_name(source.child("name"), "source", *name)) {
    legacy.name = *name;
  }
  if (auto dsn = source.string("dsn", true)) {
    if (dsn->empty()) source.child("dsn").error("must not be empty");
    legacy.dsn = *dsn;
  }
  if (auto query = source.string("query", true)) {
    yaml::Reader at = source.child("query");
    if (std::all_of(query->begin(), query->end(), [](unsigned char c) { return std::isspace(c); })) {
      at.error("must not be empty");
    } else if (mentions_parameter(*query)) {
      at.error("must not use parameters like $1: a legacy log query runs without arguments");
    }
    legacy.query = *query;
  }
  if (auto kind = source.string("kind", true)) {
    if (!known.kinds.contains(*kind)) source.child("kind").error(fmt::format("unknown kind '{}'", *kind));
    legacy.kind = *kind;
  }
  yaml::read_duration(source, "interval", legacy.interval);
  yaml::read_session_timeout(source, "statement_timeout", legacy.statement_timeout);
  legacy.branches = parse_branch_mappings(source, known.participants);
  return legacy;
}

}  // namespace

std::vector<LegacyLogConfig> parse_legacy_logs(const yaml::Reader& list, const KnownNames& known) {
  std::vector<LegacyLogConfig> legacy_logs;
  if (!list.present()) return legacy_logs;
  if (!list.is_sequence()) {
    list.error("expected a list of legacy log sources");
    return legacy_logs;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    yaml::Reader item = list.item(i);
    auto legacy = parse_legacy_log(item, known);
    if (!legacy) continue;
    if (!legacy->name.empty() && !names.insert(legacy->name).second) {
      item.child("name").error(fmt::format("duplicate legacy log name '{}'", legacy->name));
    }
    legacy_logs.push_back(std::move(*legacy));
  }
  return legacy_logs;
}

}  // namespace compensatord::sources

#include "config/changes.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace compensatord::config {
namespace {

// Appends `key` to `keys` when the two values differ.
template <typename Value>
void compare(std::vector<std::string>& keys, std::string key, const Value& running, const Value& next) {
  if (!(running == next)) keys.push_back(std::move(key));
}

void legacy_log_changes(std::vector<std::string>& keys, const DaemonConfig& running, const DaemonConfig& next) {
  std::set<std::string> names;
  for (const auto& source : running.legacy_logs) names.insert(source.name);
  for (const auto& source : next.legacy_logs) names.insert(source.name);
  auto named = [](const std::vector<sources::LegacyLogConfig>& sources, const std::string& name) {
    auto found = std::find_if(sources.begin(), sources.end(), [&](const auto& s) { return s.name == name; });
    return found == sources.end() ? std::nullopt : std::optional<sources::LegacyLogConfig>(*found);
  };
  for (const auto& name : names)
    compare(keys, "sources.legacy_logs." + name, named(running.legacy_logs, name), named(next.legacy_logs, name));
}

// A legacy log source computed its due times from its kind's timeout when it was built.
void legacy_kind_timeouts(std::vector<std::string>& keys, const DaemonConfig& running, const DaemonConfig& next) {
  std::set<std::string> kinds;
  for (const auto& source : running.legacy_logs) kinds.insert(source.kind);
  for (const auto& kind : kinds) {
    auto was = running.kinds.find(kind);
    auto now = next.kinds.find(kind);
    if (was != running.kinds.end() && now != next.kinds.end() && was->second.timeout != now->second.timeout) {
      keys.push_back(fmt::format("kinds.{}.timeout", kind));
    }
  }
}

// The YAML text of `node`, for comparing two versions of one section; empty when absent.
std::string yaml_of(const YAML::Node& node) { return node ? YAML::Dump(node) : std::string(); }

// Entries of the map section `section` added, removed or changed between the two documents.
void map_changes(std::vector<std::string>& keys, const std::string& section, const YAML::Node& previous,
                 const YAML::Node& next, const std::set<std::string>& previous_names,
                 const std::set<std::string>& next_names) {
  std::set<std::string> names = previous_names;
  names.insert(next_names.begin(), next_names.end());
  for (const auto& name : names) {
    const std::string key = fmt::format("{}.{}", section, name);
    if (!previous_names.contains(name)) {
      keys.push_back(key + " added");
    } else if (!next_names.contains(name)) {
      keys.push_back(key + " removed");
    } else if (yaml_of(previous[section][name]) != yaml_of(next[section][name])) {
      keys.push_back(key);
    }
  }
}

template <typename Map>
std::set<std::string> names_of(const Map& map) {
  std::set<std::string> names;
  for (const auto& [name, value] : map) names.insert(name);
  return names;
}

}  // namespace

std::vector<std::string> restart_only_changes(const DaemonConfig& running, const DaemonConfig& next) {
  std::vector<std::string> keys;
  compare(keys, "replica_id", running.replica_id, next.replica_id);
  compare(keys, "verify_tls", running.verify_tls, next.verify_tls);
  compare(keys, "http_client", running.http_client, next.http_client);
  compare(keys, "database.dsn", running.database.dsn, next.database.dsn);
  compare(keys, "database.connect_timeout", running.database.connect_timeout, next.database.connect_timeout);
  compare(keys, "database.statement_timeout", running.database.statement_timeout, next.database.statement_timeout);
  compare(keys, "database.lock_timeout", running.database.lock_timeout, next.database.lock_timeout);
  compare(keys, "reconciler.batch_size", running.reconciler.batch_size, next.reconciler.batch_size);
  compare(keys, "reconciler.workers", running.reconciler.workers, next.reconciler.workers);
  compare(keys, "reconciler.poll_interval", running.reconciler.poll_interval, next.reconciler.poll_interval);
  compare(keys, "reconciler.lease", running.reconciler.lease, next.reconciler.lease);
  compare(keys, "reconciler.shutdown_grace", running.reconciler.shutdown_grace, next.reconciler.shutdown_grace);
  compare(keys, "reconciler.stall_timeout", running.reconciler.stall_timeout, next.reconciler.stall_timeout);
  compare(keys, "http.listen", running.http.listen, next.http.listen);
  compare(keys, "http.tls", running.http.tls, next.http.tls);
  compare(keys, "http.tokens", running.http.tokens, next.http.tokens);
  compare(keys, "metrics.listen", running.metrics.listen, next.metrics.listen);
  compare(keys, "metrics.refresh_interval", running.metrics.refresh_interval, next.metrics.refresh_interval);
  compare(keys, "retention.finished_after", running.retention.finished_after, next.retention.finished_after);
  compare(keys, "retention.parked_after", running.retention.parked_after, next.retention.parked_after);
  compare(keys, "retention.interval", running.retention.interval, next.retention.interval);
  compare(keys, "retention.batch_size", running.retention.batch_size, next.retention.batch_size);
  compare(keys, "retention.pause", running.retention.pause, next.retention.pause);
  compare(keys, "sources.kafka", running.kafka, next.kafka);
  legacy_log_changes(keys, running, next);
  legacy_kind_timeouts(keys, running, next);
  return keys;
}

std::vector<std::string> live_changes(const LoadResult& previous, const LoadResult& next) {
  std::vector<std::string> keys;
  const DaemonConfig& was = *previous.config;
  const DaemonConfig& now = *next.config;
  map_changes(keys, "kinds", previous.document, next.document, names_of(was.kinds), names_of(now.kinds));
  map_changes(keys, "participants", previous.document, next.document, names_of(was.participants),
              names_of(now.participants));
  // Merged into every kind that does not override it, whose own YAML then stays the same.
  if (yaml_of(previous.document["retry"]) != yaml_of(next.document["retry"])) keys.emplace_back("retry");
  compare(keys, "logging.level", was.logging.level, now.logging.level);
  compare(keys, "logging.format", was.logging.format, now.logging.format);
  return keys;
}

std::optional<yaml::ConfigError> reload_refusal(const DaemonConfig& running, const DaemonConfig& next) {
  const milliseconds needed = least_lease(next);
  if (running.reconciler.lease >= needed) return std::nullopt;
  return yaml::ConfigError{
      "reconciler.lease", 0,
      fmt::format("the running lease ({}) is shorter than the {} the new checks' and participants' timeouts need; "
                  "a new reconciler.lease takes effect only after a restart",
                  running.reconciler.lease, needed)};
}

}  // namespace compensatord::config

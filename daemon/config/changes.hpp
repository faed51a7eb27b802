#pragma once
// What a config reload (SIGHUP) changes. Kinds, participants, retry policies and logging are
// swapped in the running daemon; the rest was wired into threads, sockets and connection pools at
// start, so a change to it only takes effect after a restart, and the reload says so by key.

#include "config/config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace compensatord::config {

// The keys of `next` that differ from `running`, the config the daemon started with, and that a
// reload cannot apply: "database.dsn", "http.listen", "sources.kafka", "sources.legacy_logs.<name>", ...
// A kind's timeout counts when a legacy log source uses the kind (its due times are set at start).
std::vector<std::string> restart_only_changes(const DaemonConfig& running, const DaemonConfig& next);

// The keys a reload applies that differ between two loaded configs (both with `config` set):
// "kinds.<name>" or "participants.<name>" (with " added" or " removed" when so), "retry",
// "logging.level", "logging.format". A kind or participant counts as changed when its YAML does.
std::vector<std::string> live_changes(const LoadResult& previous, const LoadResult& next);

// Why `next` cannot run with the reconciler settings of `running`, which a reload keeps: its
// checks and participants' timeouts need a longer reconciler.lease than the running one.
std::optional<yaml::ConfigError> reload_refusal(const DaemonConfig& running, const DaemonConfig& next);

}  // namespace compensatord::config

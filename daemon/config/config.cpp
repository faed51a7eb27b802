#include "config/config.hpp"

#include "adapters/participant.hpp"
#include "adapters/participant_spec.hpp"
#include "check/check.hpp"
#include "yaml/fields.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

namespace compensatord::config {
namespace {

using namespace std::chrono_literals;
using yaml::Reader;

// A config is a few kilobytes; anything this large is a mistake (or an attack on the parser).
constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;
// What reconciler.lease must leave beyond the longest check, slot wait and call.
constexpr milliseconds kLeaseMargin = 1s;
constexpr std::size_t kMaxReplicaIdLength = 128;

std::string default_replica_id() {
  std::array<char, 256> host{};
  const bool named = gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0';
  return fmt::format("{}-{}", named ? host.data() : "compensatord", getpid());
}

std::string read_replica_id(const Reader& root) {
  auto id = root.string("replica_id");
  if (!id || id->empty()) return default_replica_id();
  bool printable = std::all_of(id->begin(), id->end(), [](unsigned char c) { return std::isgraph(c); });
  if (id->size() > kMaxReplicaIdLength || !printable) {
    root.child("replica_id")
        .error(fmt::format("must be at most {} printable characters without spaces", kMaxReplicaIdLength));
  }
  return *id;
}

std::map<std::string, std::shared_ptr<const adapters::ParticipantSpec>> read_participants(const Reader& root) {
  Reader section = root.child("participants");
  if (!section.present() || (section.is_map() && section.size() == 0)) {
    yaml::missing_section(root, "participants", "at least one participant is required");
    return {};
  }
  if (!yaml::is_section(section)) return {};
  return adapters::parse_participants(section);
}

// Names are checked against the document's keys, not the parsed maps, so a participant with
// a bad field is not reported a second time as unknown.
std::set<std::string> declared_names(const Reader& section) {
  std::set<std::string> names;
  if (section.is_map()) {
    for (auto& key : section.keys()) names.insert(std::move(key));
  }
  return names;
}

// A claim must outlast the longest reconcile it may start: a check, then a wait for a free
// max_in_flight slot, then a call, each as long as its timeout. Renewals keep a live replica's
// lease; this bound makes sure a replica that cannot renew stops starting work before another
// replica may take it over.
void require_lease_outlasts_work(const Reader& root, const DaemonConfig& config) {
  std::string slowest = "no participant";
  milliseconds call{0};
  for (const auto& [name, spec] : config.participants) {
    if (spec && spec->timeout > call) {
      slowest = fmt::format("participants.{}.timeout", name);
      call = spec->timeout;
    }
  }
  for (const auto& [name, kind] : config.kinds) {
    if (!kind.check) continue;
    const milliseconds needed = kind.check->timeout() + 2 * call + kLeaseMargin;
    if (config.reconciler.lease >= needed) continue;
    root.child("reconciler")
        .child("lease")
        .error(fmt::format(
            "the lease ({}) must be at least {}: the check timeout of kind {} ({}) + 2 x {} ({}) + a margin "
            "of {}, so that a check, a wait for a free slot and a call all end before another replica may "
            "take the work over",
            config.reconciler.lease, needed, name, kind.check->timeout(), slowest, call, kLeaseMargin));
    return;
  }
}

HttpClient read_http_client(const Reader& root, HttpClient fallback) {
  auto name = root.string("http_client");
  if (!name) return fallback;
  if (*name == "curl") return HttpClient::Curl;
  if (*name == "cpprest") return HttpClient::Cpprest;
  root.child("http_client").error(fmt::format("must be curl or cpprest, got '{}'", *name));
  return fallback;
}

store::DatabaseConfig read_database(const Reader& root) {
  Reader section = root.child("database");
  if (!section.present()) {
    yaml::missing_section(root, "database", "required section is missing (database.dsn is compensatord's state)");
    return {};
  }
  return store::parse_database(section);
}

reconciler::KindConfigs read_kinds(const Reader& root, const reconciler::RetryPolicy& top_level_retry) {
  Reader section = root.child("kinds");
  if (!section.present() || (section.is_map() && section.size() == 0)) {
    yaml::missing_section(root, "kinds", "at least one kind is required");
    return {};
  }
  return reconciler::parse_kinds(section, top_level_retry);
}

void read_sources(const Reader& root, DaemonConfig& config) {
  Reader sources = root.child("sources");
  if (!yaml::is_section(sources)) return;
  sources.reject_unknown_keys({"legacy_logs", "kafka"});
  const sources::KnownNames known{declared_names(root.child("kinds")), declared_names(root.child("participants"))};
  config.legacy_logs = sources::parse_legacy_logs(sources.child("legacy_logs"), known);
  Reader kafka = sources.child("kafka");
  if (kafka.present()) config.kafka = kafka::parse_kafka_source(kafka);
}

DaemonConfig read_config(const Reader& root) {
  DaemonConfig config;
  root.reject_unknown_keys({"replica_id", "verify_tls", "http_client", "database", "reconciler", "retry", "http",
                            "metrics", "logging", "retention", "kinds", "participants", "sources"});
  config.replica_id = read_replica_id(root);
  if (auto verify = root.boolean("verify_tls")) config.verify_tls = *verify;
  config.http_client = read_http_client(root, config.http_client);
  config.database = read_database(root);
  config.reconciler = reconciler::parse_reconciler(root.child("reconciler"));
  config.retry = reconciler::parse_retry(root.child("retry"), reconciler::RetryPolicy{});
  config.http = http::parse_http(root.child("http"));
  config.metrics = metrics::parse_metrics(root.child("metrics"));
  config.logging = logging::parse_logging(root.child("logging"));
  config.retention = retention::parse_retention(root.child("retention"));
  config.kinds = read_kinds(root, config.retry);
  config.participants = read_participants(root);
  read_sources(root, config);
  require_lease_outlasts_work(root, config);
  return config;
}

LoadResult too_large(std::size_t size) {
  LoadResult result;
  result.errors.add("", 0,
                    fmt::format("the config is {} bytes, more than the limit of {} bytes", size, kMaxConfigBytes));
  return result;
}

}  // namespace

LoadResult load_config_text(const std::string& yaml_text) {
  if (yaml_text.size() > kMaxConfigBytes) return too_large(yaml_text.size());
  LoadResult result;
  YAML::Node document;
  try {
    document = YAML::Load(yaml_text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message for this is "bad file".
    result.errors.add("", e.mark.line + 1, fmt::format("invalid YAML: nested deeper than {} levels", e.depth()));
    return result;
  } catch (const YAML::Exception& e) {
    result.errors.add("", e.mark.line >= 0 ? e.mark.line + 1 : 0, fmt::format("invalid YAML: {}", e.msg));
    return result;
  }
  Reader root(document, "", result.errors);
  if (!root.is_map()) {
    root.error("expected a map of sections (database, kinds, participants, ...)");
    return result;
  }
  // The parsers report through `errors`; an exception here is a bug in them, but an operator
  // still gets an error instead of a crash.
  try {
    DaemonConfig config = read_config(root);
    if (result.errors.empty()) {
      result.config = std::move(config);
      result.document = document;
    }
  } catch (const std::exception& e) {
    result.errors.add("", 0, fmt::format("unexpected error while reading the config: {}", e.what()));
  }
  return result;
}

milliseconds least_lease(const DaemonConfig& config) {
  milliseconds call{0};
  for (const auto& [name, spec] : config.participants) call = std::max(call, spec->timeout);
  milliseconds check{0};
  for (const auto& [name, kind] : config.kinds) check = std::max(check, kind.check->timeout());
  return check + 2 * call + kLeaseMargin;
}

LoadResult load_config_file(const std::string& path) {
  LoadResult result;
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    result.errors.add("", 0, fmt::format("cannot read config file '{}': {}", path, ec.message()));
    return result;
  }
  if (size > kMaxConfigBytes) return too_large(size);
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    result.errors.add("", 0, fmt::format("cannot open config file '{}': {}", path, std::strerror(errno)));
    return result;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return load_config_text(text.str());
}

}  // namespace compensatord::config

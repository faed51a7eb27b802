#include "process/reload.hpp"

#include "config/changes.hpp"
#include "log/log.hpp"
#include "log/log_format.hpp"
#include "reconciler/context.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <utility>

namespace compensatord::process {

namespace {
constexpr log::Log kLog{"config"};
}  // namespace

kafka::MessageRules kafka_message_rules(const kafka::KafkaSourceConfig& source, const config::DaemonConfig& config) {
  std::set<std::string, std::less<>> kinds;
  std::set<std::string, std::less<>> participants;
  for (const auto& [name, kind] : config.kinds) kinds.insert(name);
  for (const auto& [name, spec] : config.participants) participants.insert(name);
  return kafka::message_rules(source, std::move(kinds), std::move(participants));
}

ConfigReloader::ConfigReloader(std::string path, config::LoadResult started, ReloadTargets targets)
    : path_(std::move(path)), started_(std::move(started)), current_(started_), targets_(std::move(targets)) {}

void ConfigReloader::reload() {
  config::LoadResult next = config::load_config_file(path_);
  if (next.config) {
    if (auto refusal = config::reload_refusal(*started_.config, *next.config)) {
      next.errors.add(refusal->path, refusal->line, refusal->message);
      next.config.reset();
    }
  }
  if (!next.config) {
    refuse(next.errors);
    return;
  }
  apply(std::move(next));
}

void ConfigReloader::refuse(const yaml::ConfigErrors& errors) {
  for (const auto& e : errors.all()) {
    kLog.error("reloading {} refused, the running config is kept: {}", path_, e.to_string());
  }
  const auto& all = errors.all();
  std::string failure =
      fmt::format("the reload at {:%Y-%m-%dT%H:%M:%SZ} was refused, running on the previous config: {}",
                  fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())),
                  all.empty() ? std::string("no error reported") : all.front().to_string());
  if (all.size() > 1) failure += fmt::format(" (and {} more errors in the log)", all.size() - 1);
  {
    std::lock_guard lock(failure_mutex_);
    failure_ = std::move(failure);
  }
  targets_.metrics.config_reloaded(false);
}

void ConfigReloader::apply(config::LoadResult next) {
  const config::DaemonConfig& config = *next.config;
  for (const auto& key : config::restart_only_changes(*started_.config, config)) {
    kLog.warn("{} changed: takes effect after a restart", key);
  }
  const std::vector<std::string> changed = config::live_changes(current_, next);

  // Series first, so a call through a new participant is never counted before they exist.
  for (const auto& [name, spec] : config.participants) targets_.metrics.declare_participant(name);
  targets_.reconciler.use_context(std::make_shared<const reconciler::ReconcileContext>(reconciler::rebuild_context(
      config.kinds, config.participants, targets_.transport, *targets_.reconciler.context())));
  // The source's connection settings stay those it started with (sources.kafka needs a restart).
  if (targets_.kafka != nullptr) targets_.kafka->use_rules(kafka_message_rules(*started_.config->kafka, config));

  kLog.info("reloaded {}: {} kinds, {} participants; changed: {}", path_, config.kinds.size(),
            config.participants.size(),
            changed.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(changed, ", ")));
  spdlog::set_level(spdlog::level::from_str(config.logging.level));
  log::use_log_format(config.logging.format);

  current_ = std::move(next);
  {
    std::lock_guard lock(failure_mutex_);
    failure_.reset();
  }
  targets_.metrics.config_reloaded(true);
}

std::optional<std::string> ConfigReloader::last_failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

}  // namespace compensatord::process

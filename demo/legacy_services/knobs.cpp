#include "legacy_services/knobs.hpp"

#include <fmt/format.h>

namespace demo {

nlohmann::json to_json(const Knobs& knobs) {
  return {{"fail_rate", knobs.fail_rate},
          {"reject_rate", knobs.reject_rate},
          {"lost_reply_rate", knobs.lost_reply_rate},
          {"odd_rate", knobs.odd_rate},
          {"latency_ms", knobs.latency_ms},
          {"latency_jitter_ms", knobs.latency_jitter_ms}};
}

namespace {

constexpr int kMaxLatencyMs = 60'000;

std::optional<std::string> set_rate(double& target, const nlohmann::json& value, const std::string& key) {
  if (!value.is_number()) return fmt::format("{}: must be a number between 0 and 1", key);
  const double rate = value.get<double>();
  if (!(rate >= 0.0 && rate <= 1.0)) return fmt::format("{}: must be between 0 and 1", key);
  target = rate;
  return std::nullopt;
}

std::optional<std::string> set_millis(int& target, const nlohmann::json& value, const std::string& key) {
  if (!value.is_number_integer()) return fmt::format("{}: must be an integer number of milliseconds", key);
  const auto ms = value.get<long long>();
  if (ms < 0 || ms > kMaxLatencyMs) return fmt::format("{}: must be between 0 and {} ms", key, kMaxLatencyMs);
  target = static_cast<int>(ms);
  return std::nullopt;
}

std::optional<std::string> set_knob(Knobs& knobs, const std::string& name, const nlohmann::json& value,
                                    const std::string& key) {
  if (name == "fail_rate") return set_rate(knobs.fail_rate, value, key);
  if (name == "reject_rate") return set_rate(knobs.reject_rate, value, key);
  if (name == "lost_reply_rate") return set_rate(knobs.lost_reply_rate, value, key);
  if (name == "odd_rate") return set_rate(knobs.odd_rate, value, key);
  if (name == "latency_ms") return set_millis(knobs.latency_ms, value, key);
  if (name == "latency_jitter_ms") return set_millis(knobs.latency_jitter_ms, value, key);
  return fmt::format(
      "{}: unknown knob (known: fail_rate, reject_rate, lost_reply_rate, odd_rate, latency_ms, latency_jitter_ms)",
      key);
}

}  // namespace

std::optional<std::string> apply_update(Knobs& knobs, const nlohmann::json& update, const std::string& where) {
  if (!update.is_object()) return fmt::format("{}: must be an object of knob: value", where);
  Knobs changed = knobs;
  for (const auto& [name, value] : update.items()) {
    if (auto problem = set_knob(changed, name, value, where + "." + name)) return problem;
  }
  knobs = changed;
  return std::nullopt;
}

bool applies_before_reply(Fault fault) {
  return fault != Fault::Fail && fault != Fault::Rejected && fault != Fault::Unavailable;
}

FaultDice::FaultDice(unsigned seed) : engine_(seed) {}

Fault FaultDice::roll(const Knobs& knobs) {
  std::lock_guard guard(mutex_);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (unit(engine_) < knobs.fail_rate) return Fault::Fail;
  if (unit(engine_) < knobs.reject_rate) return Fault::Rejected;
  if (unit(engine_) < knobs.lost_reply_rate) return Fault::LostReply;
  if (unit(engine_) < knobs.odd_rate) {
    constexpr Fault kOdd[] = {Fault::Html, Fault::UnknownCode, Fault::TruncatedJson, Fault::Unavailable};
    return kOdd[std::uniform_int_distribution<std::size_t>(0, std::size(kOdd) - 1)(engine_)];
  }
  return Fault::None;
}

std::chrono::milliseconds FaultDice::latency(const Knobs& knobs) {
  if (knobs.latency_jitter_ms == 0) return std::chrono::milliseconds(knobs.latency_ms);
  std::lock_guard guard(mutex_);
  return std::chrono::milliseconds(knobs.latency_ms +
                                   std::uniform_int_distribution<int>(0, knobs.latency_jitter_ms)(engine_));
}

}  // namespace demo

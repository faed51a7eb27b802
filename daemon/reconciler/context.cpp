#include "reconciler/context.hpp"

#include "check/check_spec.hpp"

namespace compensatord::reconciler {
namespace {

// The participants are built by `participant(name, spec)`.
template <typename MakeParticipant>
ReconcileContext make_context(const config::DaemonConfig& config,
                              const std::shared_ptr<adapters::HttpTransport>& transport,
                              MakeParticipant&& participant) {
  ReconcileContext context;
  for (const auto& [name, kind] : config.kinds) {
    context.kinds.emplace(name,
                          KindRuntime{kind.retry, check::make_check(kind.check, transport), kind.check->timeout()});
  }
  for (const auto& [name, spec] : config.participants) context.participants.emplace(name, participant(name, spec));
  return context;
}

}  // namespace

ReconcileContext build_context(const config::DaemonConfig& config, std::shared_ptr<adapters::HttpTransport> transport) {
  return make_context(config, transport, [&transport](const std::string& name, const auto& spec) {
    return std::make_unique<adapters::Participant>(name, spec, transport);
  });
}

ReconcileContext rebuild_context(const config::DaemonConfig& config, std::shared_ptr<adapters::HttpTransport> transport,
                                 const ReconcileContext& running) {
  return make_context(config, transport, [&](const std::string& name, const auto& spec) {
    auto previous = running.participants.find(name);
    if (previous == running.participants.end()) return std::make_unique<adapters::Participant>(name, spec, transport);
    return std::make_unique<adapters::Participant>(spec, *previous->second);
  });
}

}  // namespace compensatord::reconciler

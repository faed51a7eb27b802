#include "reconciler/context.hpp"

#include "check/check_spec.hpp"

namespace compensatord::reconciler {
namespace {

// The participants are built by `participant(name, spec)`.
template <typename MakeParticipant>
ReconcileContext make_context(const KindConfigs& kinds, const ParticipantSpecs& participants,
                              const std::shared_ptr<adapters::HttpTransport>& transport,
                              MakeParticipant&& participant) {
  ReconcileContext context;
  for (const auto& [name, kind] : kinds) {
    context.kinds.emplace(name,
                          KindRuntime{kind.retry, check::make_check(kind.check, transport), kind.check->timeout()});
  }
  for (const auto& [name, spec] : participants) context.participants.emplace(name, participant(name, spec));
  return context;
}

}  // namespace

ReconcileContext build_context(const KindConfigs& kinds, const ParticipantSpecs& participants,
                               std::shared_ptr<adapters::HttpTransport> transport) {
  return make_context(kinds, participants, transport, [&transport](const std::string& name, const auto& spec) {
    return std::make_unique<adapters::Participant>(name, spec, transport);
  });
}

ReconcileContext rebuild_context(const KindConfigs& kinds, const ParticipantSpecs& participants,
                                 std::shared_ptr<adapters::HttpTransport> transport, const ReconcileContext& running) {
  return make_context(kinds, participants, transport, [&](const std::string& name, const auto& spec) {
    auto previous = running.participants.find(name);
    if (previous == running.participants.end()) return std::make_unique<adapters::Participant>(name, spec, transport);
    return std::make_unique<adapters::Participant>(spec, *previous->second);
  });
}

}  // namespace compensatord::reconciler

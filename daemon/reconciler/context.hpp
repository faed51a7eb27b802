#pragma once
// What the reconciler talks to, built from a validated config: each kind's check and
// retry policy, and each participant's adapter.

#include "adapters/participant.hpp"
#include "check/check.hpp"
#include "reconciler/reconciler_config.hpp"

#include <map>
#include <memory>
#include <string>

namespace compensatord::reconciler {

struct KindRuntime {
  RetryPolicy retry;
  std::unique_ptr<check::Check> check;
  std::chrono::milliseconds check_timeout{0};
};

struct ReconcileContext {
  std::map<std::string, KindRuntime> kinds;
  std::map<std::string, std::unique_ptr<adapters::Participant>> participants;
};

using ParticipantSpecs = std::map<std::string, std::shared_ptr<const adapters::ParticipantSpec>>;

ReconcileContext build_context(const KindConfigs& kinds, const ParticipantSpecs& participants,
                               std::shared_ptr<adapters::HttpTransport> transport);

// The context of a reloaded config, replacing `running`: a participant that `running` has too
// keeps its max_in_flight limit shared with it (resized to the new value), so the calls still in
// flight through `running` count against the same limit (adapters::Participant).
ReconcileContext rebuild_context(const KindConfigs& kinds, const ParticipantSpecs& participants,
                                 std::shared_ptr<adapters::HttpTransport> transport, const ReconcileContext& running);

}  // namespace compensatord::reconciler

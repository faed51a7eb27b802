#include "reconciler/context.hpp"

#include "check/check_spec.hpp"

namespace compensatord::reconciler {

ReconcileContext build_context(const config::DaemonConfig& config, std::shared_ptr<adapters::HttpTransport> transport) {
  ReconcileContext context;
  for (const auto& [name, kind] : config.kinds) {
    context.kinds.emplace(name,
                          KindRuntime{kind.retry, check::make_check(kind.check, transport), kind.check->timeout()});
  }
  for (const auto& [name, spec] : config.participants) {
    context.participants.emplace(name, std::make_unique<adapters::Participant>(name, spec, transport));
  }
  return context;
}

}  // namespace compensatord::reconciler

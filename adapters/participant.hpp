#pragma once
// A participant: an external system reached through a config-driven HTTP adapter.
// This is the API the reconciler uses; templates and outcome rules live beside it.

#include "http_transport.hpp"
#include "model/transaction.hpp"
#include "yaml/reader.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace compensatord::adapters {

struct ActionResult {
  Outcome outcome = Outcome::Retry;
  std::optional<int> http_status;
  std::string error;            // why retry/fatal: transport error, unmatched answer, rule name
  std::string request_summary;  // "POST http://stock:8080/api/stock/rollback/ORD-1"; no headers, no body
  std::chrono::milliseconds latency{0};
  bool skipped = false;  // the participant has no such action (confirm is a no-op)
};

class ParticipantSpec;  // parsed, validated YAML (participant_spec.hpp)
class FairLimiter;

using ActionDone = std::function<void(ActionResult)>;

class Participant {
 public:
  Participant(std::string name, std::shared_ptr<const ParticipantSpec> spec, std::shared_ptr<HttpTransport> transport);
  // `previous` with a new definition (a config reload): same name and transport, and one
  // max_in_flight limit shared by both, set to `spec`'s. Calls still in flight through `previous`
  // keep their slots, so the participant never gets more calls than its limit while they drain.
  Participant(std::shared_ptr<const ParticipantSpec> spec, const Participant& previous);
  ~Participant();
  Participant(const Participant&) = delete;
  Participant& operator=(const Participant&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] bool has_action(Decision action) const;
  // The longest one call may take: a wait for a free max_in_flight slot takes as long again.
  [[nodiscard]] std::chrono::milliseconds timeout() const;

  // Renders the request for `action` on `branch`, waits on the caller's thread (up to the
  // participant's timeout, first come first served) for a free max_in_flight slot, sends it,
  // and returns. `done` gets the answer mapped through the outcome rules, exactly once: inline
  // when nothing was sent (no such action, a render error, no free slot), else on a transport
  // thread, where it must not block. `txn` and `branch` are not used after start() returns.
  // Never throws for participant behaviour: errors become Outcome::Retry (Fatal for a render error).
  void start(Decision action, const Transaction& txn, const Branch& branch, ActionDone done);

  // start(), then waits for the answer.
  ActionResult run(Decision action, const Transaction& txn, const Branch& branch);

 private:
  std::string name_;
  std::shared_ptr<const ParticipantSpec> spec_;
  std::shared_ptr<HttpTransport> transport_;
  std::shared_ptr<FairLimiter> limiter_;  // shared with calls in flight
};

// Parses `participants:` (a map of name -> spec). Errors go to `reader.errors()` with key path and line.
std::map<std::string, std::shared_ptr<const ParticipantSpec>> parse_participants(const yaml::Reader& reader);

}  // namespace compensatord::adapters

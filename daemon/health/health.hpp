#pragma once
// Kubernetes-style probes: named checks behind /healthz (liveness) and /readyz (readiness),
// answered on the metrics port so that the API port can stay closed.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::health {

// One named check: returns why it fails, or nothing when it passes.
struct HealthCheck {
  std::string name;
  std::function<std::optional<std::string>()> failure;
  // Its reason is shown (?verbose) but does not fail the probe: for a problem that needs an
  // operator but not a restart or less traffic, like a refused config reload while the previous
  // config keeps working. Failing readiness there would take every replica out of service for a
  // typo in a file.
  bool informational = false;
};

struct HealthChecks {
  std::vector<HealthCheck> liveness;   // /healthz
  std::vector<HealthCheck> readiness;  // /readyz
};

struct ProbeAnswer {
  bool passed = false;  // 200 when it passed, else 503
  std::string body;
};

// Runs every check of `endpoint` ("healthz" or "readyz"). The body ends with "<endpoint> check
// passed|failed"; `verbose` puts one line per check before it: "[+]name ok", "[-]name failed:
// reason", or for an informational check "[!]name: reason". A check that throws has failed.
ProbeAnswer answer_probe(std::string_view endpoint, const std::vector<HealthCheck>& checks, bool verbose);

}  // namespace compensatord::health

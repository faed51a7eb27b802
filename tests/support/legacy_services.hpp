#pragma once
// legacy-services as a child process, as the tests that run compensatord as a process (e2e,
// observability) start it: with an order database, and more stock and coupons than any test's
// orders use up.

#include "support/child_process.hpp"

#include <memory>
#include <string>
#include <vector>

namespace compensatord::testing {

// Starts `program` (legacy-services) on `listen` ("127.0.0.1:PORT") with its orders in
// `order_dsn` and its output in `log_path`; `extra` adds flags (--fail-rate, --latency-ms, ...).
// Returns at once: the caller waits for /healthz as it waits for its other processes.
std::unique_ptr<ChildProcess> start_legacy_services(const std::string& program, const std::string& listen,
                                                    const std::string& order_dsn, const std::string& log_path,
                                                    const std::vector<std::string>& extra);

}  // namespace compensatord::testing

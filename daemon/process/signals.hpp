#pragma once
// SIGTERM and SIGINT turned into a stop request, the way a daemon in Kubernetes needs it.

#include <csignal>
#include <stop_token>

namespace compensatord::process {

class ShutdownSignals {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads started afterwards inherit
  // the mask, so only wait_then_stop() sees them.
  ShutdownSignals();
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  // Waits for SIGTERM or SIGINT and requests `stop`; returns early when `own` is stopped.
  void wait_then_stop(std::stop_token own, std::stop_source& stop);

 private:
  sigset_t set_{};
  sigset_t previous_{};
};

}  // namespace compensatord::process

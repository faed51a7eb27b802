#pragma once
// The daemon's signals, the way a daemon in Kubernetes needs them: SIGTERM and SIGINT become a
// stop request, SIGHUP a config reload.

#include <csignal>
#include <functional>
#include <stop_token>

namespace compensatord::process {

class ProcessSignals {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads started afterwards inherit
  // the mask, so only watch() sees them.
  ProcessSignals();
  ~ProcessSignals();
  ProcessSignals(const ProcessSignals&) = delete;
  ProcessSignals& operator=(const ProcessSignals&) = delete;

  // Runs `reload` on each SIGHUP and requests `stop` on SIGTERM or SIGINT, until `own` is stopped.
  // Signals are taken one at a time on the calling thread: a reload never overlaps another one, and
  // a SIGTERM that arrives during a reload stops the daemon right after it. After a stop request
  // every signal is taken and ignored (logged): no reload starts during the drain, and a second
  // SIGTERM neither cuts it short nor changes the exit code.
  void watch(std::stop_token own, std::stop_source& stop, const std::function<void()>& reload);

 private:
  sigset_t set_{};
  sigset_t previous_{};
};

}  // namespace compensatord::process

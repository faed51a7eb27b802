#include "process/signals.hpp"

#include "log/log.hpp"

#include <pthread.h>
#include <ctime>
#include <exception>

namespace compensatord::process {

namespace {
constexpr log::Log kLog{"compensatord"};
}  // namespace

ProcessSignals::ProcessSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, &previous_);
}

// A signal that arrived once the watcher had returned (a second SIGTERM during the drain) is still
// pending: taken here, it cannot kill the process with its default action when the mask is lifted,
// which would turn a clean exit 0 into 143.
ProcessSignals::~ProcessSignals() {
  const timespec now{0, 0};
  while (sigtimedwait(&set_, nullptr, &now) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

void ProcessSignals::watch(std::stop_token own, std::stop_source& stop, const std::function<void()>& reload) {
  // sigtimedwait with a short timeout, so the watcher also ends when the daemon stops by itself.
  const timespec tick{0, 200'000'000};
  while (!own.stop_requested()) {
    const int signal = sigtimedwait(&set_, nullptr, &tick);
    if (signal <= 0) continue;
    if (stop.stop_requested()) {
      kLog.info(
          "signal {} ignored: already shutting down (in-flight work gets "
          "reconciler.shutdown_grace)",
          signal);
      continue;
    }
    if (signal == SIGTERM || signal == SIGINT) {
      kLog.info("{} received, shutting down", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      stop.request_stop();
      continue;
    }
    kLog.info("SIGHUP received, reloading the config");
    // A failed reload keeps the running config; it must never take the watcher, and with it
    // SIGTERM handling, down.
    try {
      reload();
    } catch (const std::exception& e) {
      kLog.error("config reload failed, the running config is kept: {}", e.what());
    }
  }
}

}  // namespace compensatord::process

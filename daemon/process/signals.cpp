#include "process/signals.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <ctime>

namespace compensatord::process {

ShutdownSignals::ShutdownSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, &previous_);
}

ShutdownSignals::~ShutdownSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

void ShutdownSignals::wait_then_stop(std::stop_token own, std::stop_source& stop) {
  // sigtimedwait with a short timeout, so the watcher also ends when the daemon stops by itself.
  const timespec tick{0, 200'000'000};
  while (!own.stop_requested()) {
    const int signal = sigtimedwait(&set_, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      spdlog::info("compensatord: {} received, shutting down", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      stop.request_stop();
      return;
    }
    if (signal == SIGHUP) spdlog::warn("compensatord: SIGHUP received; config reload is not supported yet, ignoring");
  }
}

}  // namespace compensatord::process

#include "process/signals.hpp"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <ctime>
#include <exception>

namespace compensatord::process {

ProcessSignals::ProcessSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, &previous_);
}

ProcessSignals::~ProcessSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

void ProcessSignals::watch(std::stop_token own, std::stop_source& stop, const std::function<void()>& reload) {
  // sigtimedwait with a short timeout, so the watcher also ends when the daemon stops by itself.
  const timespec tick{0, 200'000'000};
  while (!own.stop_requested() && !stop.stop_requested()) {
    const int signal = sigtimedwait(&set_, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      spdlog::info("compensatord: {} received, shutting down", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      stop.request_stop();
      return;
    }
    if (signal != SIGHUP) continue;
    spdlog::info("compensatord: SIGHUP received, reloading the config");
    // A failed reload keeps the running config; it must never take the watcher, and with it
    // SIGTERM handling, down.
    try {
      reload();
    } catch (const std::exception& e) {
      spdlog::error("compensatord: config reload failed, the running config is kept: {}", e.what());
    }
  }
}

}  // namespace compensatord::process

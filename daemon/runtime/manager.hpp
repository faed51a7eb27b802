#pragma once
// The daemon's long-running parts and how they start and stop, in one place (controller-runtime's
// manager is the model): each runnable runs on a thread of its own until its stop token is
// requested; the manager starts them in the order added and stops them together, within one grace
// period. docs/threading.md lists the runnables and what each may block on.

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace compensatord::runtime {

struct Runnable {
  std::string name;  // in the logs: "reconcile_loop", "kafka_source", "legacy_log orders", ...
  // Returns once `stop` is requested, after finishing or handing back its work; must not throw
  // (an exception is logged and ends every runnable, as if the daemon were stopped).
  std::function<void(std::stop_token stop)> run;
  // When this runnable returns on its own (`run --until-idle`: nothing is due), the others stop too.
  bool ends_all = false;
};

// What stop left behind.
struct StopReport {
  // Runnables still running at the end of the grace period. Their threads are not joined; the
  // caller ends the process without destroying what they use (their leases expire and another
  // replica takes their work over).
  std::vector<std::string> still_running;
  bool failed = false;  // a runnable threw
};

class Manager {
 public:
  explicit Manager(std::chrono::milliseconds grace);
  // Joins every thread, the ones still running after the grace included: destroy a manager only
  // after a StopReport with nothing still running.
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  void add(Runnable runnable);

  // Starts every runnable and waits until `stop` is requested, a runnable marked ends_all returns
  // or one throws; then requests every runnable to stop and waits at most the grace period for
  // them all. Call once.
  StopReport run(std::stop_token stop);

 private:
  struct Running;

  std::chrono::milliseconds grace_;
  std::vector<Runnable> runnables_;
  std::vector<std::jthread> threads_;
};

}  // namespace compensatord::runtime

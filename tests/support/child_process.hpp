#pragma once
// A program started by a test (compensatord, legacy-services): output goes to a log file the
// test can read, and the destructor kills what is still running, so no test leaves a process.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace compensatord::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; `env` entries ("NAME=value") are added to the environment.
  ChildProcess(std::vector<std::string> argv, std::string log_path, std::vector<std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The exit code, or nullopt if still running after `timeout`. A death by signal is 128+signal.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  void signal(int sig) const;
  [[nodiscard]] bool running();
  [[nodiscard]] std::string log() const;
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// Runs a program to completion (with a timeout) and returns its exit code and output.
struct RunResult {
  int exit_code = -1;
  std::string output;
};
RunResult run_to_completion(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                            std::vector<std::string> env = {});

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace compensatord::testing

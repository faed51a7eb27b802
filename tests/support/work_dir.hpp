#pragma once
// A temporary directory for one test's files (configs, logs), removed with everything in it.

#include <filesystem>
#include <string>

namespace compensatord::testing {

class WorkDir {
 public:
  WorkDir();
  ~WorkDir();
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace compensatord::testing

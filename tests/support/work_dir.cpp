#include "support/work_dir.hpp"

#include <stdlib.h>

#include <stdexcept>
#include <system_error>

namespace compensatord::testing {

WorkDir::WorkDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "compensatord-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
  // A throwaway PostgreSQL in here runs as the postgres user, which must reach it.
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
}

WorkDir::~WorkDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace compensatord::testing

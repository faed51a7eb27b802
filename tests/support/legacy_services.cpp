#include "support/legacy_services.hpp"

namespace compensatord::testing {

std::unique_ptr<ChildProcess> start_legacy_services(const std::string& program, const std::string& listen,
                                                    const std::string& order_dsn, const std::string& log_path,
                                                    const std::vector<std::string>& extra) {
  std::vector<std::string> argv{program, "--listen", listen, "--order-dsn", order_dsn};
  argv.insert(argv.end(), {"--skus", "5", "--stock-per-sku", "100000", "--coupons", "100000"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ChildProcess>(argv, log_path);
}

}  // namespace compensatord::testing

#pragma once
// The /v1 API listener's TLS files, as configured under http.tls.

#include <chrono>
#include <string>

namespace compensatord::http {

struct ApiTls {
  std::string cert_file;  // PEM: the server certificate, then any intermediates
  std::string key_file;   // PEM: its private key (unencrypted)
  // How often both files are checked for a change (a renewed certificate is used without a restart).
  std::chrono::milliseconds reload_interval{std::chrono::seconds(30)};

  bool operator==(const ApiTls&) const = default;
};

}  // namespace compensatord::http

#pragma once
// `http`: the /v1 API's listener, its bearer tokens and its TLS files.

#include "http/api_tls.hpp"
#include "http/api_token.hpp"
#include "yaml/reader.hpp"

#include <optional>
#include <string>
#include <vector>

namespace compensatord::http {

struct HttpConfig {
  // Nothing (`off`) opens no API port at all (the probes are on metrics.listen).
  std::optional<std::string> listen = "127.0.0.1:8080";
  std::vector<ApiToken> tokens;  // none: every /v1 request is refused (401)
  std::optional<ApiTls> tls;     // none: plain HTTP
};

// Reads the `http` section (absent: the defaults), reporting each bad key to its errors. Reads
// the files that `token_file` names (and nothing else).
HttpConfig parse_http(const yaml::Reader& section);

}  // namespace compensatord::http

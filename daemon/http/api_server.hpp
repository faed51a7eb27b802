#pragma once
// The daemon's own HTTP endpoints: /healthz, /readyz and the /v1 API. cpprestsdk stays in
// the .cpp (slow headers, maintenance mode).

#include "store/store.hpp"

#include <memory>
#include <string>

namespace compensatord::http {

class ApiServer {
 public:
  // Starts listening on `listen` ("host:port"); throws std::runtime_error naming the address
  // when it cannot.
  ApiServer(const std::string& listen, store::Store& store);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace compensatord::http

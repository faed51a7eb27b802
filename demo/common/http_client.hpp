#pragma once
// A small synchronous HTTP client for the demo tools and their tests. The demo plays legacy
// systems and their callers, so it must see every answer as sent: odd bodies, empty bodies, 5xx.

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace demo {

struct HttpReply {
  int status = 0;  // 0 when no HTTP answer arrived (see `error`)
  std::string body;
  std::string error;  // transport error: refused, timeout, ...
};

class HttpClient {
 public:
  using Headers = std::map<std::string, std::string>;

  // base_url like "http://127.0.0.1:18080"; paths passed to the calls are appended as given.
  // `headers` go with every request (e.g. Authorization).
  explicit HttpClient(const std::string& base_url, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                      Headers headers = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Thread-safe: many workers may call at once.
  HttpReply get(const std::string& path);
  HttpReply post(const std::string& path, const std::string& body,
                 const std::string& content_type = "application/json");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace demo

#pragma once
// legacy-services started in the test process on a free 127.0.0.1 port, and a client for it.

#include "common/http_client.hpp"
#include "legacy_services/server.hpp"
#include "support/child_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace demo::testing {

using compensatord::testing::free_port;

inline nlohmann::json json_of(const HttpReply& reply) { return nlohmann::json::parse(reply.body, nullptr, false); }

// The "msg" of an answer, or "" when the body has none.
inline std::string msg_of(const HttpReply& reply) {
  const auto body = json_of(reply);
  return body.is_object() && body.contains("msg") && body["msg"].is_string() ? body["msg"].get<std::string>() : "";
}

// The seed systems' answer code, or -1 when the body has none.
inline int code_of(const HttpReply& reply) {
  const auto body = json_of(reply);
  return body.is_object() && body.contains("code") && body["code"].is_number_integer() ? body["code"].get<int>() : -1;
}

class ServicesTest : public ::testing::Test {
 protected:
  // Small pools so that exhaustion is reachable; an order database only when `order_dsn` is set.
  // `tune` may change the options before the services start.
  void start_services(
      const std::string& order_dsn = "", const std::function<void(ServicesOptions&)>& tune = [](ServicesOptions&) {}) {
    ServicesOptions options;
    options.listen = "127.0.0.1:" + std::to_string(free_port());
    options.skus = 3;
    options.stock_per_sku = 100;
    options.coupons = 5;
    options.order_dsn = order_dsn;
    options.seed = 42;
    tune(options);
    services_ = std::make_unique<LegacyServices>(options);
    services_->start();
    client_ = std::make_unique<HttpClient>(services_->url());
  }

  void SetUp() override { start_services(); }
  void TearDown() override {
    client_.reset();
    if (services_) services_->stop();
  }

  HttpReply post(const std::string& path, const nlohmann::json& body) { return client_->post(path, body.dump()); }
  HttpReply post_raw(const std::string& path, const std::string& body) { return client_->post(path, body); }
  HttpReply get(const std::string& path) { return client_->get(path); }
  nlohmann::json totals() { return json_of(get("/admin/totals")); }
  void set_knobs(const nlohmann::json& knobs) { ASSERT_EQ(post("/admin/knobs", knobs).status, 200); }

  std::unique_ptr<LegacyServices> services_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace demo::testing

// The sample stock and coupon services over real HTTP: the seed systems' semantics, the fault
// knobs, and hostile input.

#include "services_fixture.hpp"

#include <chrono>
#include <set>

namespace demo::testing {
namespace {

using nlohmann::json;

json stock(const std::string& order_no, const std::string& sku = "SKU-1", const json& qty = 2) {
  return {{"orderNo", order_no}, {"sku", sku}, {"qty", qty}};
}
json coupon(const std::string& order_no, const std::string& coupon_id) {
  return {{"orderNo", order_no}, {"couponId", coupon_id}};
}

using StockService = ServicesTest;

TEST_F(StockService, LockIsIdempotentByOrderNumber) {
  auto first = post("/api/stock/lock", stock("ORD-1"));
  auto second = post("/api/stock/lock", stock("ORD-1"));

  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(code_of(first), 0);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(code_of(second), 1002);
  const auto sku = totals()["stock"]["skus"]["SKU-1"];
  EXPECT_EQ(sku["locked"], 2);
  EXPECT_EQ(sku["available"], 98);
}

TEST_F(StockService, RollbackOfUnknownOrderIsNotFoundAndRefusesALateLock) {
  auto rollback = post("/api/stock/rollback/ORD-2", stock("ORD-2"));
  auto late_lock = post("/api/stock/lock", stock("ORD-2"));

  EXPECT_EQ(rollback.status, 404);
  EXPECT_EQ(code_of(rollback), 1001);
  EXPECT_EQ(late_lock.status, 409);
  EXPECT_EQ(code_of(late_lock), 1003);
  const auto t = totals()["stock"];
  EXPECT_EQ(t["orders"]["ORD-2"]["state"], "tombstone");
  EXPECT_EQ(t["skus"]["SKU-1"]["available"], 100);
  EXPECT_EQ(t["locked"], 0);
}

TEST_F(StockService, RollbackReleasesOnceAndRepeatsAsAlreadyRolledBack) {
  post("/api/stock/lock", stock("ORD-3", "SKU-2", 5));
  auto first = post("/api/stock/rollback/ORD-3", stock("ORD-3", "SKU-2", 5));
  auto second = post("/api/stock/rollback/ORD-3", stock("ORD-3", "SKU-2", 5));

  EXPECT_EQ(code_of(first), 0);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(code_of(second), 1002);
  EXPECT_EQ(totals()["stock"]["skus"]["SKU-2"]["available"], 100);
}

TEST_F(StockService, ConfirmAfterRollbackIsRefused) {
  post("/api/stock/lock", stock("ORD-4"));
  post("/api/stock/rollback/ORD-4", stock("ORD-4"));
  auto confirm = post("/api/stock/confirm/ORD-4", stock("ORD-4"));

  EXPECT_EQ(confirm.status, 409);
  EXPECT_EQ(code_of(confirm), 1005);
  EXPECT_EQ(totals()["stock"]["sold"], 0);
}

TEST_F(StockService, ConfirmSellsOnceAndRollbackAfterItIsRefused) {
  post("/api/stock/lock", stock("ORD-5", "SKU-3", 3));
  auto confirm = post("/api/stock/confirm/ORD-5", stock("ORD-5", "SKU-3", 3));
  auto again = post("/api/stock/confirm/ORD-5", stock("ORD-5", "SKU-3", 3));
  auto rollback = post("/api/stock/rollback/ORD-5", stock("ORD-5", "SKU-3", 3));

  EXPECT_EQ(code_of(confirm), 0);
  EXPECT_EQ(code_of(again), 1002);
  EXPECT_EQ(rollback.status, 409);
  EXPECT_EQ(code_of(rollback), 1005);
  const auto sku = totals()["stock"]["skus"]["SKU-3"];
  EXPECT_EQ(sku["sold"], 3);
  EXPECT_EQ(sku["locked"], 0);
  EXPECT_EQ(sku["available"], 97);
}

TEST_F(StockService, ConfirmOfAnOrderNeverLockedIsNotFound) {
  auto confirm = post("/api/stock/confirm/ORD-6", stock("ORD-6"));
  EXPECT_EQ(confirm.status, 404);
  EXPECT_EQ(code_of(confirm), 1001);
  EXPECT_FALSE(totals()["stock"]["orders"].contains("ORD-6"));
}

TEST_F(StockService, InsufficientStockIsRejected) {
  EXPECT_EQ(code_of(post("/api/stock/lock", stock("ORD-7", "SKU-1", 100))), 0);
  auto refused = post("/api/stock/lock", stock("ORD-8", "SKU-1", 1));
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(code_of(refused), 1004);
}

TEST_F(StockService, AcceptsQuantityAsTextTheWayAdapterTemplatesRenderIt) {
  EXPECT_EQ(code_of(post("/api/stock/lock", stock("ORD-9", "SKU-1", "4"))), 0);
  EXPECT_EQ(code_of(post("/api/stock/rollback/ORD-9", stock("ORD-9", "SKU-1", "4"))), 0);
  EXPECT_EQ(totals()["stock"]["skus"]["SKU-1"]["available"], 100);
}

using CouponService = ServicesTest;

TEST_F(CouponService, ACouponIsLockedByOneOrderOnly) {
  auto first = post("/api/coupon/lock", coupon("ORD-1", "CPN-1"));
  auto repeat = post("/api/coupon/lock", coupon("ORD-1", "CPN-1"));
  auto other = post("/api/coupon/lock", coupon("ORD-2", "CPN-1"));

  EXPECT_EQ(code_of(first), 0);
  EXPECT_EQ(code_of(repeat), 1002);
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(code_of(other), 1004);
  EXPECT_EQ(totals()["coupon"]["locked"], 1);
}

TEST_F(CouponService, UseThenUnlockIsRefusedAndTheCouponStaysUsed) {
  post("/api/coupon/lock", coupon("ORD-1", "CPN-2"));
  EXPECT_EQ(code_of(post("/api/coupon/use/ORD-1", coupon("ORD-1", "CPN-2"))), 0);
  auto unlock = post("/api/coupon/unlock/ORD-1", coupon("ORD-1", "CPN-2"));
  auto reuse = post("/api/coupon/lock", coupon("ORD-2", "CPN-2"));

  EXPECT_EQ(unlock.status, 409);
  EXPECT_EQ(code_of(unlock), 1005);
  EXPECT_EQ(code_of(reuse), 1004);
  const auto t = totals()["coupon"];
  EXPECT_EQ(t["used"], 1);
  EXPECT_EQ(t["free"], 4);
}

TEST_F(CouponService, UnlockOfUnknownOrderLeavesATombstoneAndFreesNothing) {
  auto unlock = post("/api/coupon/unlock/ORD-3", coupon("ORD-3", "CPN-3"));
  auto late_lock = post("/api/coupon/lock", coupon("ORD-3", "CPN-3"));
  auto use = post("/api/coupon/use/ORD-3", coupon("ORD-3", "CPN-3"));

  EXPECT_EQ(unlock.status, 404);
  EXPECT_EQ(code_of(late_lock), 1003);
  EXPECT_EQ(code_of(use), 1005);
  EXPECT_EQ(totals()["coupon"]["free"], 5);
}

TEST_F(CouponService, UnknownCouponIsRejected) {
  auto lock = post("/api/coupon/lock", coupon("ORD-4", "CPN-6"));
  EXPECT_EQ(lock.status, 422);
  EXPECT_EQ(msg_of(lock), "unknown coupon");
}

using Knobs = ServicesTest;

TEST_F(Knobs, FailRateAnswers500WithoutApplying) {
  set_knobs({{"stock", {{"fail_rate", 0.3}}}});
  int failed = 0, locked = 0;
  for (int i = 0; i < 300; ++i) {
    auto reply = post("/api/stock/lock", stock("F-" + std::to_string(i), "SKU-" + std::to_string(i % 3 + 1), 1));
    failed += reply.status == 500;
    locked += reply.status == 200 && code_of(reply) == 0;
  }
  EXPECT_GT(failed, 60);
  EXPECT_LT(failed, 120);
  EXPECT_EQ(failed + locked, 300);
  EXPECT_EQ(totals()["stock"]["locked"], locked);
}

TEST_F(Knobs, LostReplyAppliesThenAnswers500) {
  set_knobs({{"stock", {{"lost_reply_rate", 0.3}}}});
  int failed = 0;
  for (int i = 0; i < 300; ++i) {
    failed +=
        post("/api/stock/lock", stock("L-" + std::to_string(i), "SKU-" + std::to_string(i % 3 + 1), 1)).status == 500;
  }
  EXPECT_GT(failed, 60);
  EXPECT_LT(failed, 120);
  EXPECT_EQ(totals()["stock"]["locked"], 300);
}

TEST_F(Knobs, OddAnswersComeInEveryKindAndNoneIsAPlainSuccess) {
  set_knobs({{"coupon", {{"odd_rate", 1.0}}}});
  std::set<std::string> kinds;
  for (int i = 0; i < 60; ++i) {
    auto reply = post("/api/coupon/unlock/O-" + std::to_string(i), coupon("O-" + std::to_string(i), "CPN-1"));
    if (reply.status == 503 && reply.body.empty()) kinds.insert("503 empty");
    if (reply.status == 200 && reply.body.starts_with("<html>")) kinds.insert("html");
    if (reply.status == 200 && code_of(reply) == 9999) kinds.insert("9999");
    if (reply.status == 200 && json_of(reply).is_discarded() && !reply.body.starts_with("<html>")) {
      kinds.insert("truncated");
    }
    EXPECT_NE(code_of(reply), 0);
    EXPECT_NE(code_of(reply), 1001);
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"503 empty", "html", "9999", "truncated"}));
  // Stock keeps its own knobs.
  EXPECT_EQ(code_of(post("/api/stock/lock", stock("O-stock"))), 0);
}

TEST_F(Knobs, LatencyDelaysTheAnswer) {
  set_knobs({{"stock", {{"latency_ms", 150}, {"latency_jitter_ms", 50}}}});
  const auto start = std::chrono::steady_clock::now();
  auto reply = post("/api/stock/lock", stock("LAT-1"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(code_of(reply), 0);
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST_F(Knobs, BadUpdatesAreRefusedNamingTheKeyAndChangeNothing) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"stock", {{"fail_rate", 1.5}}}}, "stock.fail_rate"},
      {{{"stock", {{"fail_rate", "0.1"}}}}, "stock.fail_rate"},
      {{{"coupon", {{"latency_ms", -1}}}}, "coupon.latency_ms"},
      {{{"coupon", {{"latency_ms", 1e12}}}}, "coupon.latency_ms"},
      {{{"order", {{"fail_rtae", 0.1}}}}, "order.fail_rtae"},
      {{{"order", 3}}, "order"},
      {{{"stock", {{"fail_rate", 0.5}}}, {"payments", {{"fail_rate", 0.1}}}}, "payments"},
  };
  for (const auto& [update, key] : cases) {
    auto reply = post("/admin/knobs", update);
    EXPECT_EQ(reply.status, 400) << update.dump();
    EXPECT_NE(msg_of(reply).find(key), std::string::npos) << reply.body;
  }
  EXPECT_EQ(json_of(get("/admin/knobs"))["stock"]["fail_rate"], 0.0);
}

using HostileInput = ServicesTest;

TEST_F(HostileInput, IsAnswered400WithAReasonAndTheServiceKeepsServing) {
  const std::string long_text(70, 'A');
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1","qty":2)", "malformed JSON"},
      {"/api/stock/lock", "", "malformed JSON"},
      {"/api/stock/lock", "[1,2,3]", "JSON object"},
      {"/api/stock/lock", R"({"sku":"SKU-1","qty":2})", "orderNo: missing"},
      {"/api/stock/lock", R"({"orderNo":"X-1","qty":2})", "sku: missing"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1"})", "qty: missing"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1","qty":0})", "qty"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1","qty":-3})", "qty"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1","qty":"2x"})", "qty"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1","qty":2.5})", "qty"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1","qty":99999999999999999999999})", "qty"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":"SKU-1","qty":"99999999999999999999999"})", "qty"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":{"a":1},"qty":2})", "sku"},
      {"/api/stock/lock", R"({"orderNo":"","sku":"SKU-1","qty":2})", "orderNo"},
      {"/api/stock/lock", R"({"orderNo":"../../etc","sku":"SKU-1","qty":2})", "orderNo"},
      {"/api/stock/lock", R"({"orderNo":"X 1","sku":"SKU-1","qty":2})", "orderNo"},
      {"/api/stock/lock", R"({"orderNo":"X-\u00e9","sku":"SKU-1","qty":2})", "orderNo"},
      {"/api/stock/lock", R"({"orderNo":"X-\u0000","sku":"SKU-1","qty":2})", "orderNo"},
      {"/api/stock/lock", R"({"orderNo":")" + long_text + R"(","sku":"SKU-1","qty":2})", "orderNo"},
      {"/api/stock/lock", R"({"orderNo":"X-1","sku":")" + std::string(5000, 's') + R"(","qty":2})", "sku"},
      {"/api/stock/lock", std::string(2 << 20, '{'), "larger than"},
      {"/api/stock/lock", std::string(100000, '[') + std::string(100000, ']'), "JSON object"},
      {"/api/stock/rollback/X-1", R"({"orderNo":"X-2"})", "differs"},
      {"/api/stock/rollback/X%2F1", "{}", "path orderNo"},
      {"/api/stock/confirm/X%001", "{}", "path orderNo"},
      {"/api/stock/confirm/" + long_text, "{}", "path orderNo"},
      {"/api/stock/confirm/%E0%A4", "{}", "path orderNo"},
      {"/api/coupon/lock", R"({"orderNo":"X-1"})", "couponId: missing"},
      {"/api/coupon/lock", R"({"orderNo":"X-1","couponId":null})", "couponId: missing"},
      {"/api/coupon/use/X-1", "not json", "malformed JSON"},
      {"/admin/knobs", "nope", "malformed JSON"},
  };
  for (const auto& [path, body, reason] : cases) {
    auto reply = post_raw(path, body);
    EXPECT_EQ(reply.status, 400) << path << " " << body.substr(0, 80) << " -> " << reply.body << reply.error;
    EXPECT_NE(msg_of(reply).find(reason), std::string::npos)
        << path << " " << body.substr(0, 80) << " -> " << reply.body;
  }
  // cpprestsdk refuses a broken percent-encoding itself, before our handler: still a 400.
  EXPECT_EQ(post_raw("/api/stock/confirm/%E0%A4%A", "{}").status, 400);
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(code_of(post("/api/stock/lock", stock("X-1"))), 0);
  EXPECT_EQ(totals()["stock"]["orders"].size(), 1u);
}

TEST_F(HostileInput, UnknownEndpointsAndMethodsAre404) {
  EXPECT_EQ(get("/api/stock/lock").status, 404);
  EXPECT_EQ(post("/api/stock/lock/extra", stock("X-1")).status, 404);
  EXPECT_EQ(get("/nothing").status, 404);
}

TEST_F(HostileInput, TheOrderApiWithoutADatabaseAnswers503) {
  auto reply = post("/api/order/create", stock("X-1"));
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(msg_of(reply).find("--order-dsn"), std::string::npos);
}

TEST(LegacyServicesOptions, BadOptionsAreRefusedNamingTheFlag) {
  ServicesOptions options;
  options.listen = "127.0.0.1";
  EXPECT_THROW(
      {
        try {
          LegacyServices services(options);
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("--listen"), std::string::npos);
          throw;
        }
      },
      std::invalid_argument);
  options.listen = "127.0.0.1:99999";
  EXPECT_THROW(LegacyServices{options}, std::invalid_argument);
  options.listen = "127.0.0.1:8080";
  options.skus = 0;
  EXPECT_THROW(LegacyServices{options}, std::invalid_argument);
}

}  // namespace
}  // namespace demo::testing

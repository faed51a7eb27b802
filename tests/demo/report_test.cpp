// The consistency report: what counts as inconsistent, from hand-made totals, orders and statuses.

#include "traffic/report.hpp"

#include <gtest/gtest.h>

namespace demo {
namespace {

using nlohmann::json;

json lock(const std::string& state) { return {{"state", state}, {"item", "X"}, {"qty", 1}}; }

json totals(json stock_orders, json coupon_orders) {
  return {{"stock", {{"orders", std::move(stock_orders)}}}, {"coupon", {{"orders", std::move(coupon_orders)}}}};
}

TEST(ConsistencyReport, ARepairedRunIsConsistent) {
  const auto t = totals({{"r-1", lock("confirmed")}, {"r-2", lock("rolled_back")}, {"r-3", lock("tombstone")}},
                        {{"r-1", lock("confirmed")}, {"r-2", lock("rolled_back")}});
  const auto report = build_report("r", t, {{"r-1", "CPN-1"}}, {{"r-1", "CONFIRMED"}, {"r-2", "CANCELLED"}});
  EXPECT_TRUE(report.consistent());
  EXPECT_EQ(report.by_status.at("CONFIRMED"), 1);
  EXPECT_EQ(report.by_status.at("CANCELLED"), 1);
}

TEST(ConsistencyReport, FindsEveryKindOfLeftover) {
  const auto t = totals({{"r-1", lock("locked")},       // no order: held
                         {"r-2", lock("confirmed")},    // no order: sold
                         {"r-3", lock("locked")},       // committed, not sold
                         {"other-9", lock("locked")}},  // another run: ignored
                        {{"r-4", lock("locked")}, {"r-5", lock("confirmed")}, {"r-3", lock("rolled_back")}});
  const std::vector<OrderRow> orders = {{"r-3", "CPN-3"}};
  const std::vector<TransactionRow> transactions = {
      {"r-1", "PENDING"}, {"r-3", "COMMITTED"}, {"r-6", "PARKED"}, {"other-1", "PARKED"}};

  const auto report = build_report("r", t, orders, transactions);

  EXPECT_FALSE(report.consistent());
  EXPECT_EQ(report.stock_locked_without_order, std::vector<std::string>{"r-1"});
  EXPECT_EQ(report.stock_sold_without_order, std::vector<std::string>{"r-2"});
  EXPECT_EQ(report.stock_not_confirmed, std::vector<std::string>{"r-3"});
  EXPECT_EQ(report.coupon_locked_without_order, std::vector<std::string>{"r-4"});
  EXPECT_EQ(report.coupon_used_without_order, std::vector<std::string>{"r-5"});
  EXPECT_EQ(report.coupon_not_confirmed, std::vector<std::string>{"r-3"});
  EXPECT_EQ(report.parked, std::vector<std::string>{"r-6"});
  EXPECT_EQ(report.unfinished, (std::vector<std::string>{"r-1", "r-3"}));
  const auto text = format_report(report);
  EXPECT_NE(text.find("RESULT: INCONSISTENT"), std::string::npos);
  EXPECT_NE(text.find("e.g. r-1"), std::string::npos);
}

TEST(ConsistencyReport, AnOrderWithoutACouponNeedsNoCouponConfirmed) {
  const auto report =
      build_report("r", totals({{"r-1", lock("confirmed")}}, json::object()), {{"r-1", ""}}, {{"r-1", "CONFIRMED"}});
  EXPECT_TRUE(report.consistent());
}

TEST(ConsistencyReport, MalformedTotalsAreRefusedNamingThePart) {
  for (const auto& bad : {json::array(), json{{"stock", {{"orders", 1}}}},
                          json{{"stock", {{"orders", json::object()}}}, {"coupon", "x"}}}) {
    try {
      build_report("r", bad, {}, {});
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(".orders"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace demo

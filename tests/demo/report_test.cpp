// The consistency report: what counts as inconsistent, from hand-made totals, orders and statuses.

#include "traffic/report.hpp"

#include <gtest/gtest.h>

namespace demo {
namespace {

using nlohmann::json;

json lock(const std::string& state) { return {{"state", state}, {"item", "X"}, {"qty", 1}}; }

// The services' totals for these locks, with pools that moved by exactly what the locks hold.
json totals(json stock_orders, json coupon_orders) {
  json skus = json::object();
  long long coupons_locked = 0;
  long long coupons_used = 0;
  for (const auto& [order_no, lock] : stock_orders.items()) {
    auto& sku = skus[lock["item"].get<std::string>()];
    if (!sku.contains("locked")) sku = {{"locked", 0}, {"sold", 0}};
    if (lock["state"] == "locked") sku["locked"] = sku["locked"].get<long long>() + lock["qty"].get<long long>();
    if (lock["state"] == "confirmed") sku["sold"] = sku["sold"].get<long long>() + lock["qty"].get<long long>();
  }
  for (const auto& [order_no, lock] : coupon_orders.items()) {
    coupons_locked += lock["state"] == "locked" ? 1 : 0;
    coupons_used += lock["state"] == "confirmed" ? 1 : 0;
  }
  return {{"stock", {{"orders", std::move(stock_orders)}, {"skus", std::move(skus)}}},
          {"coupon", {{"orders", std::move(coupon_orders)}, {"locked", coupons_locked}, {"used", coupons_used}}}};
}

TEST(ConsistencyReport, ARepairedRunIsConsistent) {
  const auto t = totals({{"r-1", lock("confirmed")}, {"r-2", lock("rolled_back")}, {"r-3", lock("tombstone")}},
                        {{"r-1", lock("confirmed")}, {"r-2", lock("rolled_back")}});
  const auto report =
      build_report("r", t, {{"r-1", "CPN-1"}}, {{"r-1", "CONFIRMED"}, {"r-2", "CANCELLED"}, {"r-3", "CANCELLED"}});
  EXPECT_TRUE(report.consistent()) << format_report(report);
  EXPECT_EQ(report.by_status.at("CONFIRMED"), 1);
  EXPECT_EQ(report.by_status.at("CANCELLED"), 2);
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
  EXPECT_EQ(report.lost, (std::vector<std::string>{"r-1", "r-2", "r-3", "r-4", "r-5"}));
  EXPECT_EQ(report.wrong_direction, std::vector<std::string>{"r-3 coupon rolled back, its order exists"});
  EXPECT_EQ(report.parked_without_reason, std::vector<std::string>{"r-6"});
  const auto text = format_report(report);
  EXPECT_NE(text.find("RESULT: INCONSISTENT"), std::string::npos);
  EXPECT_NE(text.find("e.g. r-1"), std::string::npos);
}

TEST(ConsistencyReport, AnOrderWithoutACouponNeedsNoCouponConfirmed) {
  const auto report =
      build_report("r", totals({{"r-1", lock("confirmed")}}, json::object()), {{"r-1", ""}}, {{"r-1", "CONFIRMED"}});
  EXPECT_TRUE(report.consistent());
}

TEST(ConsistencyReport, ADecisionAgainstTheOrderDatabaseIsTheWrongDirection) {
  const auto t = totals({{"r-1", lock("rolled_back")}, {"r-2", lock("confirmed")}}, json::object());
  const auto report = build_report("r", t, {{"r-1", ""}}, {{"r-1", "CANCELLED"}, {"r-2", "CONFIRMED"}});
  EXPECT_EQ(report.wrong_direction,
            (std::vector<std::string>{"r-1 cancelled, its order exists", "r-2 confirmed, it has no order",
                                      "r-1 stock rolled back, its order exists"}));
  EXPECT_FALSE(report.consistent());
}

TEST(ConsistencyReport, APoolThatMovedByOtherAmountsThanItsLocksIsADoubleEffect) {
  auto t = totals({{"r-1", lock("confirmed")}, {"other-1", lock("locked")}}, {{"r-1", lock("confirmed")}});
  EXPECT_TRUE(build_report("r", t, {{"r-1", "CPN-1"}}, {{"r-1", "CONFIRMED"}}).double_effects.empty());
  t["stock"]["skus"]["X"]["sold"] = 2;  // confirmed twice
  t["coupon"]["used"] = 2;
  const auto report = build_report("r", t, {{"r-1", "CPN-1"}}, {{"r-1", "CONFIRMED"}});
  EXPECT_EQ(report.double_effects, (std::vector<std::string>{"X locked 1 sold 2, its orders 1 and 1",
                                                             "coupons locked 0 used 2, their orders 0 and 1"}));
  EXPECT_FALSE(report.consistent());
}

TEST(ConsistencyReport, EveryCallCompensatordMadeMustBeInTheTrail) {
  auto confirmed = lock("confirmed");
  confirmed["confirms"] = 3;  // one from the order service, two from compensatord
  auto rolled_back = lock("rolled_back");
  rolled_back["rollbacks"] = 2;
  const auto t = totals({{"r-1", confirmed}, {"r-2", rolled_back}}, json::object());
  OwnConfirmCalls own;
  own.add("stock", "r-1");
  const std::vector<TransactionRow> transactions = {{"r-1", "CONFIRMED"}, {"r-2", "CANCELLED"}};

  const auto complete = build_report("r", t, {{"r-1", ""}}, transactions,
                                     {{"r-1", "stock", "confirm", 2, 1}, {"r-2", "stock", "cancel", 2, 0}}, &own);
  EXPECT_TRUE(complete.consistent()) << format_report(complete);
  EXPECT_EQ(complete.calls.at("stock confirm").calls, 2);
  EXPECT_EQ(complete.calls.at("stock confirm").trail_started, 1);
  EXPECT_EQ(complete.calls.at("stock cancel").most_per_branch, 2);

  const auto short_trail = build_report("r", t, {{"r-1", ""}}, transactions, {{"r-1", "stock", "confirm", 1, 0}}, &own);
  EXPECT_EQ(short_trail.trail_missing,
            (std::vector<std::string>{"r-1 stock confirm: 2 calls, 1 rows", "r-2 stock cancel: 2 calls, 0 rows"}));
  EXPECT_FALSE(short_trail.consistent());
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

// demo-traffic's Kafka path against a kafka-broker process and a real PostgreSQL: every order
// publishes its delayed check message (docs/kafka.md) keyed by its xid, and a Kafka-only order is
// created in demo_orders without touching compensatord's pending log.

#include "kafka/kafka_test_support.hpp"
#include "services_fixture.hpp"
#include "store/migrations.hpp"
#include "support/test_database.hpp"
#include "support/work_dir.hpp"
#include "traffic/traffic.hpp"

#include <pqxx/pqxx>

#include <set>
#include <stdexcept>

namespace demo::testing {
namespace {

using compensatord::testing::BrokerProcess;
using compensatord::testing::read_topic;
using compensatord::testing::Record;
using nlohmann::json;

constexpr int kOrders = 30;

class KafkaTraffic : public ServicesTest {
 protected:
  void SetUp() override {
    compensatord::store::migrate(db_.dsn());
    start_services(db_.dsn());
  }

  TrafficOptions options(ChecksMode checks) const {
    TrafficOptions o;
    o.dsn = db_.dsn();
    o.services_url = services_->url();
    o.run_id = "k";
    o.orders = kOrders;
    o.concurrency = 4;
    o.die_rate = 0.5;
    o.skus = 3;
    o.coupons = 5;
    o.coupon_share = 0.1;
    o.txn_timeout = std::chrono::hours(1);
    o.checks = checks;
    o.kafka_brokers = broker_.bootstrap();
    return o;
  }

  long long count(const std::string& sql) {
    auto connection = db_.connect();
    pqxx::read_transaction work(connection);
    return work.exec1(sql)[0].as<long long>();
  }

  std::vector<Record> checks_on_topic() {
    return read_topic(broker_.bootstrap(), "order-checks", kOrders, std::chrono::seconds(10), 2);
  }

  static long long died_after_create(const TrafficCounters& counters) {
    for (std::size_t i = 0; i < kDiePoints.size(); ++i) {
      if (kDiePoints[i] == DiePoint::AfterOrderCreate) return counters.died_at[i].load();
    }
    return 0;
  }
  compensatord::testing::TestDatabase db_;
  compensatord::testing::WorkDir work_;
  BrokerProcess broker_{work_, {"order-checks:2"}};
};

TEST_F(KafkaTraffic, EveryOrderPublishesItsCheckKeyedByXidAndKafkaOnlyOrdersSkipThePendingLog) {
  TrafficCounters counters;
  run_traffic(options(ChecksMode::Kafka), counters);

  EXPECT_EQ(counters.checks_published.load(), kOrders);
  EXPECT_EQ(counters.count(OrderEnd::BeginFailed), 0);
  const auto records = checks_on_topic();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kOrders));
  std::set<std::string> xids;
  for (const auto& record : records) {
    const auto message = json::parse(record.value, nullptr, false);
    ASSERT_TRUE(message.is_object()) << record.value;
    EXPECT_EQ(message.size(), 3U) << record.value;  // xid, kind, branches: the delay is compensatord's min_delay
    EXPECT_EQ(message["kind"], "order");
    EXPECT_EQ(record.key, message["xid"].get<std::string>());
    ASSERT_TRUE(message["branches"].is_array() && !message["branches"].empty()) << record.value;
    EXPECT_EQ(message["branches"][0]["participant"], "stock");
    xids.insert(message["xid"].get<std::string>());
  }
  EXPECT_EQ(xids.size(), static_cast<std::size_t>(kOrders));
  EXPECT_EQ(count("SELECT count(*) FROM compensatord.transactions"), 0);
  // Created orders: the placed ones, those whose confirm failed, and those that died just after.
  const long long created =
      counters.count(OrderEnd::Placed) + counters.count(OrderEnd::ConfirmFailed) + died_after_create(counters);
  EXPECT_GT(created, 0);
  EXPECT_EQ(count("SELECT count(*) FROM demo_orders"), created);
}

TEST_F(KafkaTraffic, BothOpensThePendingLogTransactionAndPublishesTheCheck) {
  TrafficCounters counters;
  run_traffic(options(ChecksMode::Both), counters);

  EXPECT_EQ(counters.checks_published.load(), kOrders);
  EXPECT_EQ(checks_on_topic().size(), static_cast<std::size_t>(kOrders));
  EXPECT_EQ(count("SELECT count(*) FROM compensatord.transactions WHERE source = 'pending_log'"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM compensatord.transactions WHERE status = 'COMMITTED'"),
            count("SELECT count(*) FROM demo_orders"));
}

TEST_F(KafkaTraffic, KafkaChecksNeedBrokersAndAKnownMode) {
  TrafficCounters counters;
  auto o = options(ChecksMode::Kafka);
  o.kafka_brokers.clear();
  EXPECT_THROW(run_traffic(o, counters), std::invalid_argument);
  EXPECT_EQ(parse_checks_mode("both"), ChecksMode::Both);
  EXPECT_THROW((void)parse_checks_mode("smoke-signals"), std::invalid_argument);
}

}  // namespace
}  // namespace demo::testing

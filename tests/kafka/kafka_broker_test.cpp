// kafka-broker: separate processes can produce to it and consume from it, and SIGUSR1/SIGUSR2
// take its brokers down and up.

#include "kafka/kafka_test_support.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;

TEST(KafkaBroker, ProducedMessageIsConsumedWithKeyAndHeaders) {
  WorkDir work;
  BrokerProcess broker(work, {"checks:3"});
  EXPECT_NE(broker.process().log().find("bootstrap=" + broker.bootstrap()), std::string::npos);

  ASSERT_EQ(produce(broker.bootstrap(), {"checks", "ORD-1", R"({"xid":"ORD-1"})", {{"h", "v"}}, 2}), "");
  auto records = read_topic(broker.bootstrap(), "checks", 1, 10s, 3);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].partition, 2);
  EXPECT_EQ(records[0].key, "ORD-1");
  EXPECT_EQ(records[0].value, R"({"xid":"ORD-1"})");
  EXPECT_EQ(records[0].headers.at("h"), "v");
}

TEST(KafkaBroker, DownRefusesAndUpAcceptsAgain) {
  WorkDir work;
  BrokerProcess broker(work, {"checks"});
  broker.down();
  EXPECT_NE(produce(broker.bootstrap(), {"checks", std::nullopt, "lost", {}, 0}, 1500ms), "");
  broker.up();
  ASSERT_EQ(produce(broker.bootstrap(), {"checks", std::nullopt, "kept", {}, 0}), "");
  auto records = read_topic(broker.bootstrap(), "checks", 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "kept");
}

TEST(KafkaBroker, StopsOnSigterm) {
  WorkDir work;
  BrokerProcess broker(work, {"checks"});
  broker.process().signal(SIGTERM);
  EXPECT_EQ(broker.process().wait_for(10s), 0);
}

TEST(KafkaBroker, RefusesABadTopic) {
  auto result = run_to_completion({KAFKA_BROKER_BIN, "--topic", "checks:zero"}, 10s);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("NAME:PARTITIONS"), std::string::npos);
}

}  // namespace
}  // namespace compensatord::testing

// The `sources.kafka` config: defaults, pass-through, and errors with their key path.

#include "sources/kafka/kafka_config.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

namespace compensatord::kafka {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  KafkaSourceConfig config;
  yaml::ConfigErrors errors;
};

Parsed parse(const std::string& yaml) {
  Parsed out;
  yaml::Reader root(YAML::Load(yaml), "", out.errors);
  out.config = parse_kafka_source(root.child("sources").child("kafka"));
  return out;
}

const std::string kMinimal =
    "sources:\n"
    "  kafka:\n"
    "    brokers: 127.0.0.1:9092\n"
    "    topics: [order-checks]\n"
    "    dead_letter_topic: order-checks-dlq\n";

TEST(KafkaConfig, MinimalHasDefaults) {
  auto parsed = parse(kMinimal);
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();
  const auto& c = parsed.config;
  EXPECT_EQ(c.brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.topics, std::vector<std::string>{"order-checks"});
  EXPECT_EQ(c.dead_letter_topic, "order-checks-dlq");
  EXPECT_EQ(c.group_id, "compensatord");
  EXPECT_EQ(c.min_delay, 1min);
  EXPECT_EQ(c.max_clock_skew, 30s);
  EXPECT_EQ(c.max_message_bytes, 1024u * 1024u);
  EXPECT_EQ(c.poll_timeout, 1s);
  EXPECT_EQ(c.commit_batch_size, 100);
  EXPECT_TRUE(c.librdkafka.empty());
}

TEST(KafkaConfig, EveryKeySet) {
  auto parsed = parse(
      "sources:\n"
      "  kafka:\n"
      "    brokers: k1:9092,k2:9092\n"
      "    topics: [a, b.c]\n"
      "    group_id: repair\n"
      "    dead_letter_topic: dlq\n"
      "    min_delay: 5m\n"
      "    max_clock_skew: 2m\n"
      "    max_message_bytes: 65536\n"
      "    poll_timeout: 250ms\n"
      "    commit_batch_size: 10\n"
      "    librdkafka: {security.protocol: SASL_SSL, session.timeout.ms: 6000}\n");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();
  const auto& c = parsed.config;
  EXPECT_EQ(c.topics, (std::vector<std::string>{"a", "b.c"}));
  EXPECT_EQ(c.group_id, "repair");
  EXPECT_EQ(c.min_delay, 5min);
  EXPECT_EQ(c.max_clock_skew, 2min);
  EXPECT_EQ(c.max_message_bytes, 65536u);
  EXPECT_EQ(c.poll_timeout, 250ms);
  EXPECT_EQ(c.commit_batch_size, 10);
  EXPECT_EQ(c.librdkafka.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.librdkafka.at("session.timeout.ms"), "6000");
}

void expect_error(const std::string& yaml, const std::string& path, int line) {
  auto parsed = parse(yaml);
  ASSERT_FALSE(parsed.errors.empty()) << yaml;
  bool found = false;
  for (const auto& e : parsed.errors.all()) found = found || (e.path == path && e.line == line);
  EXPECT_TRUE(found) << "no error at " << path << " line " << line << " in:\n" << parsed.errors.to_string();
}

// A missing key is reported at the line where its map starts.
TEST(KafkaConfig, RequiredKeys) {
  expect_error("sources:\n  kafka:\n    topics: [a]\n    dead_letter_topic: d\n", "sources.kafka.brokers", 3);
  expect_error("sources:\n  kafka:\n    brokers: b:1\n    dead_letter_topic: d\n", "sources.kafka.topics", 3);
  expect_error("sources:\n  kafka:\n    brokers: b:1\n    topics: [a]\n", "sources.kafka.dead_letter_topic", 3);
  expect_error("sources:\n  kafka: yes\n", "sources.kafka", 2);
}

TEST(KafkaConfig, BadValuesNameTheirKeyAndLine) {
  expect_error(kMinimal + "    min_delay: 5\n", "sources.kafka.min_delay", 6);
  expect_error(kMinimal + "    min_delay: 31d\n", "sources.kafka.min_delay", 6);
  expect_error(kMinimal + "    poll_timeout: 0ms\n", "sources.kafka.poll_timeout", 6);
  expect_error(kMinimal + "    max_clock_skew: 30\n", "sources.kafka.max_clock_skew", 6);
  expect_error(kMinimal + "    max_clock_skew: -1s\n", "sources.kafka.max_clock_skew", 6);
  expect_error(kMinimal + "    max_clock_skew: 2h\n", "sources.kafka.max_clock_skew", 6);
  expect_error(kMinimal + "    max_clock_skew: 99999999999999999999d\n", "sources.kafka.max_clock_skew", 6);
  expect_error(kMinimal + "    max_clock_skew: [1s]\n", "sources.kafka.max_clock_skew", 6);
  expect_error(kMinimal + "    max_message_bytes: 10\n", "sources.kafka.max_message_bytes", 6);
  expect_error(kMinimal + "    commit_batch_size: 0\n", "sources.kafka.commit_batch_size", 6);
  expect_error(kMinimal + "    group_id: ''\n", "sources.kafka.group_id", 6);
  expect_error(kMinimal + "    colour: red\n", "sources.kafka.colour", 6);
  expect_error(kMinimal + "    librdkafka: {enable.auto.commit: 'true'}\n",
               "sources.kafka.librdkafka.enable.auto.commit", 6);
  expect_error(kMinimal + "    librdkafka: {group.id: other}\n", "sources.kafka.librdkafka.group.id", 6);
}

TEST(KafkaConfig, MaxClockSkewErrorNamesTheKeyAndItsRange) {
  auto parsed = parse(kMinimal + "    max_clock_skew: 2h\n");
  const auto text = parsed.errors.to_string();
  EXPECT_NE(text.find("sources.kafka.max_clock_skew (line 6): must be at most 1h"), std::string::npos) << text;
  EXPECT_EQ(parse(kMinimal + "    max_clock_skew: 1h\n").config.max_clock_skew, std::chrono::hours(1));
  EXPECT_EQ(parse(kMinimal + "    max_clock_skew: 0s\n").config.max_clock_skew, 0ms);
}

TEST(KafkaConfig, TopicRules) {
  const std::string head = "sources:\n  kafka:\n    brokers: b:1\n";
  expect_error(head + "    topics: []\n    dead_letter_topic: d\n", "sources.kafka.topics", 4);
  expect_error(head + "    topics: ['bad topic']\n    dead_letter_topic: d\n", "sources.kafka.topics[0]", 4);
  expect_error(head + "    topics: [a, a]\n    dead_letter_topic: d\n", "sources.kafka.topics[1]", 4);
  expect_error(head + "    topics: [a]\n    dead_letter_topic: a\n", "sources.kafka.dead_letter_topic", 5);
}

}  // namespace
}  // namespace compensatord::kafka

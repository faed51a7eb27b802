#pragma once
// The `sources.kafka` section: where delayed check messages come from and where bad ones go.
// Every key, its default and an example is in docs/kafka.md.

#include "yaml/reader.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace compensatord::kafka {

struct KafkaSourceConfig {
  std::string brokers;                    // required; bootstrap.servers, "host:port[,host:port...]"
  std::vector<std::string> topics;        // required, at least one
  std::string group_id = "compensatord";  // replicas in one group split the partitions
  std::string dead_letter_topic;          // required; must not be one of `topics`
  std::chrono::milliseconds min_delay{std::chrono::minutes(1)};  // due >= message timestamp + this
  // How far a producer's clock may lead or lag: a message timestamp further from the time it is
  // read is not trusted (message_time()).
  std::chrono::milliseconds max_clock_skew{std::chrono::seconds(30)};
  std::size_t max_message_bytes = 1024 * 1024;
  std::chrono::milliseconds poll_timeout{std::chrono::seconds(1)};
  int commit_batch_size = 100;  // messages stored per database commit and offset commit
  // Passed through to librdkafka as is (security.protocol, sasl.*, ssl.*, ...), except the keys
  // compensatord owns for its durability guarantee.
  std::map<std::string, std::string> librdkafka;

  bool operator==(const KafkaSourceConfig&) const = default;
};

// Reads the `sources.kafka` map; errors (key path and line) go to the reader's ConfigErrors and
// the returned value then holds whatever was valid.
KafkaSourceConfig parse_kafka_source(const yaml::Reader& reader);

}  // namespace compensatord::kafka

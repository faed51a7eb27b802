#pragma once
// Kafka for tests: the kafka-broker process (librdkafka's mock cluster) and a plain producer and
// reader to put messages in and look at what landed. librdkafka stays in the .cpp.

#include "support/child_process.hpp"
#include "support/work_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace compensatord::testing {

// kafka-broker started with `topics` ("NAME" or "NAME:PARTITIONS"); ready when constructed.
class BrokerProcess {
 public:
  BrokerProcess(const WorkDir& work, const std::vector<std::string>& topics);
  [[nodiscard]] const std::string& bootstrap() const { return bootstrap_; }
  void down() const;  // every broker refuses connections (SIGUSR1)
  void up() const;    // and accepts them again (SIGUSR2)
  [[nodiscard]] ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string bootstrap_;
};

struct Record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::map<std::string, std::string> headers;
};

struct Outgoing {
  std::string topic;
  std::optional<std::string> key;
  std::string value;
  std::map<std::string, std::string> headers;
  std::int32_t partition = -1;  // -1: the partitioner picks (by key)
};

// Produces and waits for the delivery report. Returns "" on success, else librdkafka's error.
std::string produce(const std::string& bootstrap, const Outgoing& message,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The same for several messages through one producer; the first error, or "".
std::string produce_all(const std::string& bootstrap, const std::vector<Outgoing>& messages,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Reads partitions 0..partitions-1 of `topic` from the start, without a consumer group, until
// `expected` records arrived or `timeout` passed.
std::vector<Record> read_topic(const std::string& bootstrap, const std::string& topic, std::size_t expected,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10), int partitions = 1);

// The offset `group` committed for topic/partition, or nullopt when it committed none.
std::optional<std::int64_t> committed_offset(const std::string& bootstrap, const std::string& group,
                                             const std::string& topic, std::int32_t partition = 0);

}  // namespace compensatord::testing

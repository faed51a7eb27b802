#pragma once
// Publishes an order's delayed check message (docs/kafka.md) to a Kafka topic, the way the order
// service does before it touches any participant. librdkafka stays in the .cpp.

#include <chrono>
#include <memory>
#include <string>

namespace demo {

class CheckPublisher {
 public:
  // Throws std::runtime_error when the producer cannot be created.
  CheckPublisher(const std::string& brokers, std::string topic, std::chrono::milliseconds timeout);
  ~CheckPublisher();
  CheckPublisher(const CheckPublisher&) = delete;
  CheckPublisher& operator=(const CheckPublisher&) = delete;

  // Produces `value` keyed by `xid` and waits for the broker's acknowledgement; thread-safe.
  // Returns false when the message was not acknowledged within the timeout.
  bool publish(const std::string& xid, const std::string& value);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace demo

#include "traffic/check_publisher.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <future>
#include <stdexcept>
#include <utility>

namespace demo {

namespace {

// Hands each message's outcome to the promise its producer passed as the message's opaque.
class DeliveryReport : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    auto* delivered = static_cast<std::promise<bool>*>(message.msg_opaque());
    if (delivered) delivered->set_value(message.err() == RdKafka::ERR_NO_ERROR);
  }
};

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string error;
  if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(key + ": " + error);
}

}  // namespace

struct CheckPublisher::Impl {
  DeliveryReport report;
  std::unique_ptr<RdKafka::Producer> producer;
  std::string topic;
  std::chrono::milliseconds timeout;
};

CheckPublisher::CheckPublisher(const std::string& brokers, std::string topic, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->topic = std::move(topic);
  impl_->timeout = timeout;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  set(*conf, "bootstrap.servers", brokers);
  // The check must be durable before the order touches stock: wait for every replica.
  set(*conf, "acks", "all");
  set(*conf, "linger.ms", "0");
  set(*conf, "message.timeout.ms", std::to_string(timeout.count()));
  std::string error;
  if (conf->set("dr_cb", &impl_->report, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(error);
  impl_->producer.reset(RdKafka::Producer::create(conf.get(), error));
  if (!impl_->producer) throw std::runtime_error("kafka producer: " + error);
}

CheckPublisher::~CheckPublisher() {
  // Undelivered messages would outlive their promises: wait for them before destroying the producer.
  impl_->producer->flush(static_cast<int>(impl_->timeout.count()));
}

bool CheckPublisher::publish(const std::string& xid, const std::string& value) {
  std::promise<bool> delivered;
  auto outcome = delivered.get_future();
  const auto err =
      impl_->producer->produce(impl_->topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                               const_cast<char*>(value.data()), value.size(), xid.data(), xid.size(), 0, &delivered);
  if (err != RdKafka::ERR_NO_ERROR) return false;
  // Any thread's poll serves any thread's delivery report; message.timeout.ms bounds the wait.
  while (outcome.wait_for(std::chrono::milliseconds::zero()) != std::future_status::ready) {
    impl_->producer->poll(10);
  }
  return outcome.get();
}

}  // namespace demo

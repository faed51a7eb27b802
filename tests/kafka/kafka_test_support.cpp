#include "kafka/kafka_test_support.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <csignal>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <stdlib.h>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<RdKafka::Conf> client_conf(const std::string& bootstrap) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [key, value] :
       std::map<std::string, std::string>{{"bootstrap.servers", bootstrap}, {"log_level", "3"}}) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(error);
  }
  return conf;
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Record to_record(RdKafka::Message& message) {
  Record r;
  r.topic = message.topic_name();
  r.partition = message.partition();
  r.offset = message.offset();
  if (message.key() != nullptr) r.key = *message.key();
  r.value.assign(static_cast<const char*>(message.payload()), message.len());
  if (RdKafka::Headers* headers = message.headers()) {
    for (const auto& header : headers->get_all()) {
      r.headers[header.key()] = std::string(static_cast<const char*>(header.value()), header.value_size());
    }
  }
  return r;
}

// Remembers the outcome of the messages one produce_all() call sends: the first error, if any.
class DeliveryReport : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR && error_.empty()) error_ = message.errstr();
    ++reported_;
  }
  [[nodiscard]] std::string outcome(std::size_t sent) const {
    if (!error_.empty()) return error_;
    return reported_ == sent ? "" : "missing delivery reports";
  }

 private:
  std::size_t reported_ = 0;
  std::string error_;
};

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// Signals the broker and waits until it logged `line` once more, so the fault is in force.
void signal_and_wait(ChildProcess& process, int sig, const std::string& line) {
  const std::size_t before = count_of(process.log(), line);
  process.signal(sig);
  for (auto deadline = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < deadline;) {
    if (count_of(process.log(), line) > before) return;
    std::this_thread::sleep_for(10ms);
  }
  throw std::runtime_error("kafka-broker did not log '" + line + "'");
}

}  // namespace

BrokerProcess::BrokerProcess(const WorkDir& work, const std::vector<std::string>& topics) {
  const std::string file = work.file("bootstrap");
  std::vector<std::string> argv{KAFKA_BROKER_BIN, "--bootstrap-file", file};
  for (const auto& topic : topics) {
    argv.emplace_back("--topic");
    argv.push_back(topic);
  }
  process_ = std::make_unique<ChildProcess>(argv, work.file("kafka-broker.log"));
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    bootstrap_ = read_first_line(file);
    if (!bootstrap_.empty()) return;
    if (!process_->running()) break;
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("kafka-broker did not start: " + process_->log());
}

void BrokerProcess::down() const { signal_and_wait(*process_, SIGUSR1, "brokers down"); }
void BrokerProcess::up() const { signal_and_wait(*process_, SIGUSR2, "brokers up"); }

std::string produce(const std::string& bootstrap, const Outgoing& message, std::chrono::milliseconds timeout) {
  return produce_all(bootstrap, {message}, timeout);
}

std::string produce_all(const std::string& bootstrap, const std::vector<Outgoing>& messages,
                        std::chrono::milliseconds timeout) {
  auto conf = client_conf(bootstrap);
  std::string error;
  DeliveryReport report;
  conf->set("message.timeout.ms", std::to_string(timeout.count()), error);
  conf->set("dr_cb", &report, error);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) return error;
  for (const auto& message : messages) {
    std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
    for (const auto& [key, value] : message.headers) headers->add(key, value);
    const std::string* key = message.key ? &*message.key : nullptr;
    RdKafka::ErrorCode err = producer->produce(
        message.topic, message.partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(message.value.data()),
        message.value.size(), key ? key->data() : nullptr, key ? key->size() : 0, 0, headers.get(), nullptr);
    if (err != RdKafka::ERR_NO_ERROR) return RdKafka::err2str(err);
    headers.release();  // produce() took ownership of the headers: it succeeded
  }
  RdKafka::ErrorCode err = producer->flush(static_cast<int>(timeout.count()) + 1000);
  if (err != RdKafka::ERR_NO_ERROR) return RdKafka::err2str(err);
  return report.outcome(messages.size());
}

std::vector<Record> read_topic(const std::string& bootstrap, const std::string& topic, std::size_t expected,
                               std::chrono::milliseconds timeout, int partitions) {
  auto conf = client_conf(bootstrap);
  std::string error;
  std::unique_ptr<RdKafka::Consumer> consumer(RdKafka::Consumer::create(conf.get(), error));
  if (!consumer) throw std::runtime_error(error);
  std::unique_ptr<RdKafka::Queue> queue(RdKafka::Queue::create(consumer.get()));
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(consumer.get(), topic, nullptr, error));
  if (!handle) throw std::runtime_error(error);
  for (int p = 0; p < partitions; ++p) consumer->start(handle.get(), p, RdKafka::Topic::OFFSET_BEGINNING, queue.get());
  std::vector<Record> records;
  for (auto deadline = std::chrono::steady_clock::now() + timeout;
       records.size() < expected && std::chrono::steady_clock::now() < deadline;) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(queue.get(), 100));
    if (message && message->err() == RdKafka::ERR_NO_ERROR) records.push_back(to_record(*message));
  }
  for (int p = 0; p < partitions; ++p) consumer->stop(handle.get(), p);
  return records;
}

std::optional<std::int64_t> committed_offset(const std::string& bootstrap, const std::string& group,
                                             const std::string& topic, std::int32_t partition) {
  auto conf = client_conf(bootstrap);
  std::string error;
  if (conf->set("group.id", group, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (!consumer) throw std::runtime_error(error);
  std::vector<RdKafka::TopicPartition*> list{RdKafka::TopicPartition::create(topic, partition)};
  RdKafka::ErrorCode err = consumer->committed(list, 10000);
  std::int64_t offset = list[0]->offset();
  RdKafka::TopicPartition::destroy(list);
  consumer->close();
  if (err != RdKafka::ERR_NO_ERROR) throw std::runtime_error(RdKafka::err2str(err));
  if (offset < 0) return std::nullopt;
  return offset;
}

}  // namespace compensatord::testing

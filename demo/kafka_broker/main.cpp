// kafka-broker: a Kafka-protocol broker on loopback for the demo and tests, built on librdkafka's
// mock cluster (rdkafka_mock.h). Separate processes (compensatord, kcat, tests) connect to the
// address it prints. SIGUSR1 takes every broker down and SIGUSR2 brings them back, so tests can
// inject "Kafka unreachable" without touching the clients. SIGTERM or SIGINT stops it.

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct TopicSpec {
  std::string name;
  int partitions = 1;
};

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* cluster) const { rd_kafka_mock_cluster_destroy(cluster); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using MockCluster = std::unique_ptr<rd_kafka_mock_cluster_t, ClusterDeleter>;

std::optional<TopicSpec> parse_topic(const std::string& text) {
  auto colon = text.rfind(':');
  TopicSpec spec{text.substr(0, colon), 1};
  if (colon != std::string::npos) {
    try {
      std::size_t used = 0;
      spec.partitions = std::stoi(text.substr(colon + 1), &used);
      if (used != text.size() - colon - 1) return std::nullopt;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (spec.name.empty() || spec.partitions < 1 || spec.partitions > 1000) return std::nullopt;
  return spec;
}

// The mock cluster lives inside a client handle; a producer handle never connects anywhere itself.
KafkaHandle host_handle() {
  std::array<char, 512> error{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", error.data(), error.size()) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(error.data());
  }
  // rd_kafka_new takes ownership of conf only on success.
  KafkaHandle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, error.data(), error.size()));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(fmt::format("cannot create the mock cluster's handle: {}", error.data()));
  }
  return rk;
}

// Written next to the target and renamed, so a reader polling the file never sees half a line.
void write_bootstrap_file(const std::string& path, const std::string& bootstrap) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << bootstrap << '\n';
    if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", partial));
  }
  std::filesystem::rename(partial, path);
}

// Signals are taken synchronously by sigwait, so no handler and no global state is needed;
// they are blocked before librdkafka starts its threads, which inherit the mask.
sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&set, sig);
  return set;
}

void serve(rd_kafka_mock_cluster_t* cluster, const sigset_t& signals) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) throw std::runtime_error("sigwait failed");
    if (sig == SIGUSR1) {
      rd_kafka_mock_broker_set_down(cluster, -1);
      fmt::print("brokers down\n");
    } else if (sig == SIGUSR2) {
      rd_kafka_mock_broker_set_up(cluster, -1);
      fmt::print("brokers up\n");
    } else {
      fmt::print("stopping\n");
      return;
    }
    std::fflush(stdout);
  }
}

int run(int broker_count, const std::vector<TopicSpec>& topics, const std::string& bootstrap_file) {
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  KafkaHandle rk = host_handle();
  MockCluster cluster(rd_kafka_mock_cluster_new(rk.get(), broker_count));
  if (!cluster) throw std::runtime_error("cannot create the mock cluster");
  for (const auto& topic : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster.get(), topic.name.c_str(), topic.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(fmt::format("cannot create topic {}: {}", topic.name, rd_kafka_err2str(err)));
    }
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster.get());
  if (!bootstrap_file.empty()) write_bootstrap_file(bootstrap_file, bootstrap);
  fmt::print("bootstrap={}\n", bootstrap);
  std::fflush(stdout);
  serve(cluster.get(), signals);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Loopback Kafka-protocol broker (librdkafka mock cluster) for the demo and tests"};
  int broker_count = 1;
  std::vector<std::string> topic_texts;
  std::string bootstrap_file;
  app.add_option("--brokers", broker_count, "number of brokers")->check(CLI::Range(1, 16));
  app.add_option("--topic", topic_texts, "topic to create, NAME or NAME:PARTITIONS (repeatable)");
  app.add_option("--bootstrap-file", bootstrap_file, "also write the bootstrap address to this file");
  CLI11_PARSE(app, argc, argv);

  std::vector<TopicSpec> topics;
  for (const auto& text : topic_texts) {
    auto spec = parse_topic(text);
    if (!spec) {
      fmt::print(stderr, "--topic {}: expected NAME or NAME:PARTITIONS (1 to 1000)\n", text);
      return 2;
    }
    topics.push_back(*spec);
  }
  try {
    return run(broker_count, topics, bootstrap_file);
  } catch (const std::exception& e) {
    fmt::print(stderr, "kafka-broker: {}\n", e.what());
    return 1;
  }
}

#include "sources/kafka/kafka_config.hpp"

#include "sources/kafka/check_message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string_view>

namespace compensatord::kafka {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxTopicBytes = 249;  // Kafka's own limit
constexpr std::int64_t kMinMessageBytes = 1024;
constexpr std::int64_t kMaxMessageBytes = 100 * 1024 * 1024;
constexpr milliseconds kMaxPollTimeout = std::chrono::minutes(1);
// A clock further off than this is broken, not skewed; it also keeps message_time() near now.
constexpr milliseconds kMaxClockSkew = std::chrono::hours(1);
constexpr std::int64_t kMaxCommitBatch = 10'000;

// compensatord sets these itself: offsets are committed only after the database commit, so no
// pass-through setting may turn automatic commits back on or move the consumer elsewhere.
constexpr std::array<std::string_view, 6> kOwnedKeys{"bootstrap.servers",  "metadata.broker.list",
                                                     "group.id",           "enable.auto.commit",
                                                     "auto.commit.enable", "enable.auto.offset.store"};

bool valid_topic(std::string_view name) {
  return !name.empty() && name.size() <= kMaxTopicBytes && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           auto u = static_cast<unsigned char>(c);
           return (u < 0x80 && std::isalnum(u)) || c == '.' || c == '_' || c == '-';
         });
}

constexpr std::string_view kTopicRule = "letters, digits, '.', '_' or '-', at most 249";

std::vector<std::string> read_topics(const yaml::Reader& reader) {
  std::vector<std::string> topics;
  yaml::Reader list = reader.child("topics");
  if (!list.present()) {
    list.error("required key is missing");
    return topics;
  }
  if (!list.is_sequence() || list.size() == 0) {
    list.error("expected a non-empty list of topic names");
    return topics;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    yaml::Reader item = list.item(i);
    auto name = item.as_string();
    if (!name || !valid_topic(*name)) {
      item.error(fmt::format("expected a topic name ({})", kTopicRule));
    } else if (std::find(topics.begin(), topics.end(), *name) != topics.end()) {
      item.error(fmt::format("topic '{}' is listed twice", *name));
    } else {
      topics.push_back(*name);
    }
  }
  return topics;
}

void read_dead_letter_topic(const yaml::Reader& reader, KafkaSourceConfig& out) {
  auto name = reader.string("dead_letter_topic", true);
  if (!name) return;
  if (!valid_topic(*name)) {
    reader.child("dead_letter_topic").error(fmt::format("expected a topic name ({})", kTopicRule));
  } else if (std::find(out.topics.begin(), out.topics.end(), *name) != out.topics.end()) {
    reader.child("dead_letter_topic").error("must differ from every topic in `topics`: a bad message would loop");
  } else {
    out.dead_letter_topic = *name;
  }
}

void read_durations(const yaml::Reader& reader, KafkaSourceConfig& out) {
  if (auto value = reader.duration("min_delay")) {
    if (*value > kMaxDelay) {
      reader.child("min_delay").error("must be at most 30d");
    } else {
      out.min_delay = *value;
    }
  }
  if (auto value = reader.duration("max_clock_skew")) {
    if (*value > kMaxClockSkew) {
      reader.child("max_clock_skew").error("must be at most 1h: how far a producer's clock may lead or lag ours");
    } else {
      out.max_clock_skew = *value;
    }
  }
  if (auto value = reader.duration("poll_timeout")) {
    if (*value <= milliseconds(0) || *value > kMaxPollTimeout) {
      reader.child("poll_timeout").error("must be more than 0ms and at most 1m");
    } else {
      out.poll_timeout = *value;
    }
  }
}

void read_librdkafka(const yaml::Reader& reader, KafkaSourceConfig& out) {
  out.librdkafka = reader.string_map("librdkafka");
  for (const auto& [key, value] : out.librdkafka) {
    if (std::find(kOwnedKeys.begin(), kOwnedKeys.end(), key) != kOwnedKeys.end()) {
      reader.child("librdkafka")
          .child(key)
          .error("set by compensatord (use brokers / group_id; offsets are committed after the database commit)");
    }
  }
}

}  // namespace

KafkaSourceConfig parse_kafka_source(const yaml::Reader& reader) {
  KafkaSourceConfig out;
  if (!reader.is_map()) {
    reader.error("expected a map with brokers, topics and dead_letter_topic");
    return out;
  }
  reader.reject_unknown_keys({"brokers", "topics", "group_id", "dead_letter_topic", "min_delay", "max_clock_skew",
                              "max_message_bytes", "poll_timeout", "commit_batch_size", "librdkafka"});
  if (auto brokers = reader.string("brokers", true)) {
    if (brokers->empty()) {
      reader.child("brokers").error("expected host:port[,host:port...]");
    } else {
      out.brokers = *brokers;
    }
  }
  out.topics = read_topics(reader);
  if (auto group = reader.string("group_id")) {
    if (group->empty()) {
      reader.child("group_id").error("must not be empty");
    } else {
      out.group_id = *group;
    }
  }
  read_dead_letter_topic(reader, out);
  read_durations(reader, out);
  if (auto bytes = reader.integer("max_message_bytes", kMinMessageBytes, kMaxMessageBytes)) {
    out.max_message_bytes = static_cast<std::size_t>(*bytes);
  }
  if (auto batch = reader.integer("commit_batch_size", 1, kMaxCommitBatch))
    out.commit_batch_size = static_cast<int>(*batch);
  read_librdkafka(reader, out);
  return out;
}

}  // namespace compensatord::kafka

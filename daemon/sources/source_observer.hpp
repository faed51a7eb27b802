#pragma once
// The seam through which a source reports what it reads (metrics implement it), so that an
// operator sees a source that stopped reading or refuses its rows without reading the logs.

#include <cstdint>
#include <string_view>

namespace compensatord::sources {

// What became of the rows one poll read. rows_seen = inserted + already_known + conflicts + rejected.
struct PollResult {
  long long rows_seen = 0;
  long long inserted = 0;
  long long already_known = 0;
  // Rows whose xid is recorded with other branches (by another source): refused, logged and counted
  // by the store (compensatord_ingest_conflicts_total).
  long long conflicts = 0;
  // Bad rows (NULL, empty, too long or not UTF-8 xid, half-NULL branch, a value not UTF-8 or over
  // 64 KiB, bad due_at, more than kMaxBranches branches): skipped, warned with the row's xid.
  long long rejected = 0;
};

// Called from the source's own thread; `source` is the configured name.
class SourceObserver {
 public:
  virtual ~SourceObserver() = default;
  // A poll ran to its end; its rows are stored.
  virtual void polled(std::string_view source, const PollResult& result) = 0;
  // A poll failed (the source's database, the state database): it is repeated next interval.
  virtual void poll_failed(std::string_view source) = 0;
};

// Reports nothing; the observer of a source that was given none.
SourceObserver& no_source_observer();

// What became of one message of the Kafka source (sources.kafka).
enum class MessageOutcome {
  Ingested,      // stored as a new transaction
  Duplicate,     // the xid was already known (a redelivery, or another source)
  DeadLettered,  // produced to the dead-letter topic
};

// The Kafka source's reports, from its consuming thread (librdkafka's callbacks run there too).
// A seam of its own rather than SourceObserver's named polls: the daemon has one Kafka source,
// whose series carry no source name, and a legacy log source may well be named "kafka".
class KafkaObserver {
 public:
  virtual ~KafkaObserver() = default;
  // `count` messages of one poll batch had `outcome`; reported once the batch is stored.
  virtual void kafka_messages(MessageOutcome outcome, long long count) = 0;
  // A store, dead-letter, offset commit or consumer error; the work is retried.
  virtual void kafka_error() = 0;
  // A broker answers again, or no longer does (it does not before the first contact).
  virtual void kafka_connected(bool connected) = 0;
  // Messages in the assigned partitions after the committed offsets, from librdkafka's statistics.
  virtual void kafka_consumer_lag(std::int64_t messages) = 0;
};

}  // namespace compensatord::sources

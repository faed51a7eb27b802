#pragma once
// Faults injected into the real librdkafka of this test process: the test binary defines
// rd_kafka_seek and rd_kafka_consumer_poll, which librdkafka++ then calls instead of librdkafka's
// own (they forward to them), so KafkaSource runs unchanged against the mock cluster while a test
// makes a seek fail or holds a consumer in the middle of a poll batch.

namespace compensatord::testing::consumer_faults {

// The next `count` seeks fail with RD_KAFKA_RESP_ERR__STATE, without seeking.
void fail_seeks(int count);
// Seeks failed so far (since the process started).
int failed_seeks();

// The next consumer to read a message is held, with that message in hand, until release(): its
// poll batch has begun and the rebalance events librdkafka queues meanwhile wait for its next poll.
void hold_first_message();
[[nodiscard]] bool holding();
void release();

}  // namespace compensatord::testing::consumer_faults

#include "kafka/consumer_faults.hpp"

#include <librdkafka/rdkafka.h>

#include <dlfcn.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace compensatord::testing::consumer_faults {
namespace {

// The faults are process-wide because the functions they replace are.
struct State {
  std::atomic<int> seeks_to_fail{0};
  std::atomic<int> seeks_failed{0};
  std::mutex mutex;
  std::condition_variable released;
  bool hold_armed = false;
  bool holding = false;
};

State& state() {
  static State s;
  return s;
}

template <typename Function>
Function* real(const char* name) {
  auto* function = reinterpret_cast<Function*>(::dlsym(RTLD_NEXT, name));
  if (function == nullptr) throw std::runtime_error(std::string("librdkafka has no ") + name);
  return function;
}

void hold_if_armed() {
  std::unique_lock lock(state().mutex);
  if (!state().hold_armed) return;
  state().hold_armed = false;
  state().holding = true;
  state().released.wait(lock, [] { return !state().holding; });
}

}  // namespace

void fail_seeks(int count) { state().seeks_to_fail = count; }
int failed_seeks() { return state().seeks_failed.load(); }

void hold_first_message() {
  std::lock_guard lock(state().mutex);
  state().hold_armed = true;
}

bool holding() {
  std::lock_guard lock(state().mutex);
  return state().holding;
}

void release() {
  {
    std::lock_guard lock(state().mutex);
    state().holding = false;
  }
  state().released.notify_all();
}

}  // namespace compensatord::testing::consumer_faults

namespace faults = compensatord::testing::consumer_faults;

extern "C" rd_kafka_resp_err_t rd_kafka_seek(rd_kafka_topic_t* topic, int32_t partition, int64_t offset,
                                             int timeout_ms) {
  static auto* const seek = faults::real<decltype(rd_kafka_seek)>("rd_kafka_seek");
  for (int left = faults::state().seeks_to_fail.load(); left > 0;) {
    if (faults::state().seeks_to_fail.compare_exchange_weak(left, left - 1)) {
      ++faults::state().seeks_failed;
      return RD_KAFKA_RESP_ERR__STATE;
    }
  }
  return seek(topic, partition, offset, timeout_ms);
}

extern "C" rd_kafka_message_t* rd_kafka_consumer_poll(rd_kafka_t* rk, int timeout_ms) {
  static auto* const poll = faults::real<decltype(rd_kafka_consumer_poll)>("rd_kafka_consumer_poll");
  rd_kafka_message_t* message = poll(rk, timeout_ms);
  if (message != nullptr && message->err == RD_KAFKA_RESP_ERR_NO_ERROR) faults::hold_if_armed();
  return message;
}

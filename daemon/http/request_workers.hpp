#pragma once
// The API's own threads. cpprestsdk runs every listener handler and every client continuation of
// the process on one shared pool: a handler that waits on the database there holds a thread the
// daemon's other HTTP work may need. Handlers therefore only hand requests over to these few
// workers, and a full queue is answered at once (503) instead of waiting.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace compensatord::http {

class RequestWorkers {
 public:
  RequestWorkers(int threads, std::size_t max_queued);
  // Runs what is queued, then joins the threads.
  ~RequestWorkers();
  RequestWorkers(const RequestWorkers&) = delete;
  RequestWorkers& operator=(const RequestWorkers&) = delete;

  // Queues `work` for a worker thread; false (and `work` dropped) when the queue is full.
  [[nodiscard]] bool post(std::function<void()> work);

 private:
  void serve(std::stop_token stop);

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable_any queued_;
  std::deque<std::function<void()>> work_;
  std::vector<std::jthread> threads_;  // last: they use the members above
};

}  // namespace compensatord::http

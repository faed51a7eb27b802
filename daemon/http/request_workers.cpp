#include "http/request_workers.hpp"

namespace compensatord::http {

RequestWorkers::RequestWorkers(int threads, std::size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this](std::stop_token stop) { serve(stop); });
}

RequestWorkers::~RequestWorkers() {
  for (auto& thread : threads_) thread.request_stop();
  threads_.clear();
}

bool RequestWorkers::post(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    if (work_.size() >= max_queued_) return false;
    work_.push_back(std::move(work));
  }
  queued_.notify_one();
  return true;
}

void RequestWorkers::serve(std::stop_token stop) {
  while (true) {
    std::function<void()> work;
    {
      std::unique_lock lock(mutex_);
      if (!queued_.wait(lock, stop, [&] { return !work_.empty(); })) return;
      work = std::move(work_.front());
      work_.pop_front();
    }
    work();
  }
}

}  // namespace compensatord::http

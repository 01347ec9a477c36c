// A mutex/condition-variable pool: simple and obviously correct rather than lock-free.
// A generation counter tells workers a new call has been posted, so a worker that wakes
// spuriously or late never runs a call twice or misses one.
#include "engine/thread_pool.h"

#include <algorithm>

#include "core/error.h"

namespace tessera {

ThreadPool::ThreadPool(int threads) {
  if (threads < 0) fail("--threads must be non-negative, got {}", threads);
  if (threads == 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int index) {
  const int64_t parts = size();
  const int64_t begin = n_ * index / parts, end = n_ * (index + 1) / parts;
  if (begin >= end) return;
  try {
    (*body_)(begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    run_chunk(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body,
                              int64_t cost_per_index) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1 || n * cost_per_index < kInlineWork) {
    body(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    n_ = n;
    body_ = &body;
    error_ = nullptr;
    pending_ = int(workers_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  run_chunk(0);
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return pending_ == 0; });
    err = error_;
    body_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace tessera

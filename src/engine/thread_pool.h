// A small persistent pool for the CPU engine's data-parallel loops (matrix rows, attention
// heads). Threads are started once per engine, not per call, because a decode step issues
// a dozen short parallel loops per layer and thread creation would dominate them.
//
// parallel_for splits [0, n) into one contiguous chunk per thread. Each index is handled
// entirely by one thread, so results never depend on the thread count as long as the
// body does not reduce across indices.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

class ThreadPool {
 public:
  // threads: total workers including the calling thread; 0 = hardware_concurrency().
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Calls body(begin, end) on disjoint chunks covering [0, n) and waits for all of them.
  // The first exception thrown by a chunk is rethrown on the calling thread.
  // cost_per_index is the rough number of multiply-adds one index takes: loops with less
  // total work than kInlineWork run on the calling thread, since waking the workers costs
  // tens of microseconds (for a 260K-parameter model, 20x the step itself).
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body,
                    int64_t cost_per_index = kInlineWork);

  static constexpr int64_t kInlineWork = 1 << 16;

 private:
  void worker_loop(int index);
  void run_chunk(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  uint64_t generation_ = 0;  // bumped for every parallel_for call
  int pending_ = 0;          // workers that have not finished the current call
  bool stop_ = false;
  int64_t n_ = 0;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  std::exception_ptr error_;
};

}  // namespace tessera

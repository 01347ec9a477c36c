// The engine's thread pool: every index is visited exactly once for any split, the pool
// survives many back-to-back calls, and a chunk's exception reaches the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "core/error.h"
#include "engine/thread_pool.h"

using namespace tessera;

TEST(ThreadPool, EveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 7, 64, 1001}) {
      std::vector<std::atomic<int>> hits(size_t(n + 1));
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)], 1) << threads << " " << n << " " << i;
      ASSERT_EQ(hits[size_t(n)], 0);
    }
  }
}

TEST(ThreadPool, ManyCallsInARow) {
  ThreadPool pool(4);
  std::atomic<int64_t> sum{0};
  for (int call = 0; call < 2000; ++call)
    pool.parallel_for(16, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum, 2000 * 16);
}

TEST(ThreadPool, ExceptionReachesTheCaller) {
  ThreadPool pool(4);
  EXPECT_THROW(pool.parallel_for(100,
                                 [&](int64_t b, int64_t e) {
                                   for (int64_t i = b; i < e; ++i)
                                     if (i == 90) throw std::runtime_error("boom");
                                 }),
               std::runtime_error);
  // Still usable afterwards.
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](int64_t b, int64_t e) { n += int(e - b); });
  EXPECT_EQ(n, 10);
}

TEST(ThreadPool, ZeroMeansAllCoresAndNegativeIsAnError) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), int(std::max(1u, std::thread::hardware_concurrency())));
  try {
    ThreadPool bad(-1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--threads must be non-negative, got -1");
  }
}

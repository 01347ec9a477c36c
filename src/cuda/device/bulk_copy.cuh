// Hopper bulk copies (cp.async.bulk, sm_90 and later) and the shared-memory barriers that
// count their bytes (mbarrier with transaction counts). One thread moves kilobytes with one
// instruction, the copy engine tracks it, and completion is observed by polling a barrier's
// phase: no registers are held while bytes are in flight and no block-wide barrier is
// needed to publish them, which is what the weight stream (instructions/weight_stream.cuh)
// is built on. On older targets these compile to a trap: the runtime never turns the ring
// on below compute capability 9.0 (runtime.cpp), so the trap marks a runtime bug.
#pragma once

#include <cstdint>

namespace tessera::cuda {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define TESSERA_HAS_BULK_COPY 1
#else
#define TESSERA_HAS_BULK_COPY 0
#endif

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// One arrival (the issuing thread's) completes a phase once the expected bytes have landed.
__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t arrivals) {
#if TESSERA_HAS_BULK_COPY
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_addr(bar)), "r"(arrivals) : "memory");
#else
  (void)bar; (void)arrivals; __trap();
#endif
}

// Makes initialised barriers visible to the copy engine (the async proxy) before any copy
// signals them; the caller follows it with a block barrier.
__device__ __forceinline__ void mbarrier_init_fence() {
#if TESSERA_HAS_BULK_COPY
  asm volatile("fence.mbarrier_init.release.cluster;\n\tfence.proxy.async.shared::cta;" ::: "memory");
#else
  __trap();
#endif
}

__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
#if TESSERA_HAS_BULK_COPY
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes)
               : "memory");
#else
  (void)bar; (void)bytes; __trap();
#endif
}

// Weights are read once per decode step: evict-first keeps them from pushing the KV cache
// and activations out of L2.
__device__ __forceinline__ uint64_t l2_evict_first_policy() {
#if TESSERA_HAS_BULK_COPY
  uint64_t p;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(p));
  return p;
#else
  return 0;
#endif
}

// bytes (a multiple of 16, both addresses 16-byte aligned) from global to shared memory;
// their arrival is counted on bar.
__device__ __forceinline__ void bulk_copy_g2s(void* dst, const void* src, uint32_t bytes, uint64_t* bar,
                                              uint64_t policy) {
#if TESSERA_HAS_BULK_COPY
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;" ::"r"(
          smem_addr(dst)),
      "l"(src), "r"(bytes), "r"(smem_addr(bar)), "l"(policy)
      : "memory");
#else
  (void)dst; (void)src; (void)bytes; (void)bar; (void)policy; __trap();
#endif
}

// Spins until the barrier's phase with this parity has completed.
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
#if TESSERA_HAS_BULK_COPY
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n\t.reg .pred p;\n\tmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n\tselp.u32 %0, 1, 0, p;\n\t}"
        : "=r"(done)
        : "r"(smem_addr(bar)), "r"(parity)
        : "memory");
  } while (!done);
#else
  (void)bar; (void)parity; __trap();
#endif
}

}  // namespace tessera::cuda

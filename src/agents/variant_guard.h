// The first gate for agent-written CUDA instruction variants: a static check on tokens,
// run before anything is compiled. A variant is a __device__ function with a fixed
// signature that the harness calls; it may compute, and nothing else. The gate rejects
// what has no business in such a function or could fake a result:
//   - #include outside an allow-list, macros (#define can assemble names the gate cannot
//     see), pragmas other than unroll;
//   - host or library calls (malloc, printf, the CUDA runtime and driver APIs, std::),
//     __host__ / __global__ code, extern declarations;
//   - inline asm whose instructions are outside an allow-list;
//   - clock(), clock64(), %clock / %globaltimer reads and __nanosleep (timing is the
//     harness's, and a variant that reads the clock can only be trying to game it);
//   - state that survives a call (static locals, __device__ / __managed__ / __constant__
//     variables): a result cached across calls would pass a check on repeated inputs;
//   - atomics whose target is not rooted in a parameter, a __shared__ array or a pointer
//     derived from one (where that is visible in the tokens).
// Comments and string literals are stripped first, so a forbidden word in a comment is
// not a finding and a forbidden call cannot hide in one. It is a deny-list over tokens and
// knows no types: it is deliberately the cheap first gate, followed on the GPU side by an
// NVRTC compile against a restricted header set (which catches any host call the list
// misses: there is no host library to link) and by running the variant in a separate
// process with a time limit (hangs, infinite loops), fresh random inputs, poisoned outputs
// and guard regions around every buffer (writes outside declared regions).
#pragma once

#include <string>
#include <vector>

namespace tessera::agents {

struct VariantGuardPolicy {
  std::string entry;      // the __device__ function the harness calls; empty: not checked
  std::string signature;  // its parameter list, e.g. "const float* x, float* y, int n"; empty: not checked
  std::vector<std::string> allowed_includes{"cuda_bf16.h", "cuda_fp16.h", "cuda_fp8.h"};
  // PTX mnemonics allowed in asm, matched as prefixes ("cp.async" admits cp.async.cg...).
  std::vector<std::string> allowed_asm{"cp.async", "ld.global", "ld.shared", "st.shared", "ldmatrix", "mma.sync",
                                       "prefetch.global", "cvt", "mov.b32", "mov.b64"};
};

struct GuardFinding {
  int line = 0;      // 1-based
  std::string rule;  // "include", "preprocessor", "host-call", "host-code", "inline-asm", "timer",
                     // "global-state", "atomic-target", "signature", "lexical"
  std::string message;
};

struct GuardReport {
  std::vector<GuardFinding> findings;
  bool ok() const { return findings.empty(); }
  std::string summary() const;  // one "line N: [rule] message" per finding
};

GuardReport check_variant(const std::string& source, const VariantGuardPolicy& policy);

}  // namespace tessera::agents

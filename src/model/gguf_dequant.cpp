// One function per block layout, written element by element from ggml's block structs.
// Products and sums are separate statements so that no compiler contracts them into a
// fused multiply-add: gguf-py rounds after each numpy operation and the tests demand
// bit-identical output. Block fields are read with memcpy since GGUF tensor data need not
// be aligned for the field types.
#include "model/gguf_dequant.h"

#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "model/gguf_reader.h"

namespace tessera {

namespace {

constexpr int QK_K = 256;

inline float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void dq_q4_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(int(qs[j] & 0xF) - 8);
    y[j + 16] = d * float(int(qs[j] >> 4) - 8);
  }
}

void dq_q4_1(const uint8_t* b, float* y) {
  const float d = half_at(b), m = half_at(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    float lo = d * float(qs[j] & 0xF);
    float hi = d * float(qs[j] >> 4);
    y[j] = lo + m;
    y[j + 16] = hi + m;
  }
}

// Five-bit values: the low nibbles as in Q4, bit 4 of element j is bit j of qh.
void q5_values(const uint8_t* qh_bytes, const uint8_t* qs, int* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) {
    q[j] = int(qs[j] & 0xF) | int((qh >> j) & 1u) << 4;
    q[j + 16] = int(qs[j] >> 4) | int((qh >> (j + 16)) & 1u) << 4;
  }
}

void dq_q5_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  int q[32];
  q5_values(b + 2, b + 6, q);
  for (int j = 0; j < 32; ++j) y[j] = d * float(q[j] - 16);
}

void dq_q5_1(const uint8_t* b, float* y) {
  const float d = half_at(b), m = half_at(b + 2);
  int q[32];
  q5_values(b + 4, b + 8, q);
  for (int j = 0; j < 32; ++j) {
    float s = d * float(q[j]);
    y[j] = s + m;
  }
}

void dq_q8_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  for (int j = 0; j < 32; ++j) y[j] = float(int8_t(b[2 + j])) * d;
}

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64] (2 bits), d, dmin.
void dq_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = half_at(b + 80), dmin = half_at(b + 82);
  for (int e = 0; e < QK_K; ++e) {
    const int half = e / 128, r = e % 128, shift = 2 * (r / 32), l = r % 32;
    const uint8_t sc = scales[e / 16];
    const float dl = d * float(sc & 0xF), ml = dmin * float(sc >> 4);
    const float q = float((qs[half * 32 + l] >> shift) & 3);
    const float s = dl * q;
    y[e] = s - ml;
  }
}

// Q3_K: hmask[32], qs[64], scales[12] (sixteen 6-bit signed scales), d.
void dq_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* sc = b + 96;
  const float d = half_at(b + 108);
  float dl[16];
  for (int s = 0; s < 16; ++s) {
    int lo = s < 8 ? (sc[s] & 0xF) : (sc[s - 8] >> 4);
    int hi = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
    dl[s] = d * float(int8_t(uint8_t(lo | hi << 4)) - 32);
  }
  for (int e = 0; e < QK_K; ++e) {
    const int half = e / 128, r = e % 128, shift = 2 * (r / 32), l = r % 32;
    const int ql = (qs[half * 32 + l] >> shift) & 3;
    const int hbit = (hmask[e % 32] >> (e / 32)) & 1;
    const int q = ql - ((hbit ^ 1) << 2);
    y[e] = dl[e / 16] * float(q);
  }
}

// The 12-byte packing of eight 6-bit scales and eight 6-bit mins shared by Q4_K and Q5_K.
void k_scale_min(const uint8_t* s, int* sc, int* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 0x3F;
    mn[j] = s[4 + j] & 0x3F;
    sc[4 + j] = (s[8 + j] & 0x0F) | ((s[j] >> 2) & 0x30);
    mn[4 + j] = (s[8 + j] >> 4) | ((s[4 + j] >> 2) & 0x30);
  }
}

void dq_q4_k(const uint8_t* b, float* y) {
  const float d = half_at(b), dmin = half_at(b + 2);
  int sc[8], mn[8];
  k_scale_min(b + 4, sc, mn);
  const uint8_t* qs = b + 16;
  for (int j = 0; j < 8; ++j) {
    const float dj = d * float(sc[j]), mj = dmin * float(mn[j]);
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      const float s = dj * float((qs[(j / 2) * 32 + l] >> shift) & 0xF);
      y[j * 32 + l] = s - mj;
    }
  }
}

void dq_q5_k(const uint8_t* b, float* y) {
  const float d = half_at(b), dmin = half_at(b + 2);
  int sc[8], mn[8];
  k_scale_min(b + 4, sc, mn);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int j = 0; j < 8; ++j) {
    const float dj = d * float(sc[j]), mj = dmin * float(mn[j]);
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      const int q = ((qs[(j / 2) * 32 + l] >> shift) & 0xF) | ((qh[l] >> j) & 1) << 4;
      const float s = dj * float(q);
      y[j * 32 + l] = s - mj;
    }
  }
}

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales int8[16], d.
void dq_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_at(b + 208);
  for (int e = 0; e < QK_K; ++e) {
    const int h = e / 128, r = e % 128;
    const int lo = (ql[h * 64 + r % 64] >> (4 * (r / 64))) & 0xF;
    const int hi = (qh[h * 32 + r % 32] >> (2 * (r / 32))) & 3;
    const float ds = d * float(scales[e / 16]);
    y[e] = ds * float((lo | hi << 4) - 32);
  }
}

// Q8_K: d as fp32, qs int8[256], then bsums (only used by dot products).
void dq_q8_k(const uint8_t* b, float* y) {
  float d;
  std::memcpy(&d, b, 4);
  for (int e = 0; e < QK_K; ++e) y[e] = d * float(int8_t(b[4 + e]));
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_fn(uint32_t type) {
  switch (type) {
    case ggml::Q4_0: return dq_q4_0;
    case ggml::Q4_1: return dq_q4_1;
    case ggml::Q5_0: return dq_q5_0;
    case ggml::Q5_1: return dq_q5_1;
    case ggml::Q8_0: return dq_q8_0;
    case ggml::Q2_K: return dq_q2_k;
    case ggml::Q3_K: return dq_q3_k;
    case ggml::Q4_K: return dq_q4_k;
    case ggml::Q5_K: return dq_q5_k;
    case ggml::Q6_K: return dq_q6_k;
    case ggml::Q8_K: return dq_q8_k;
    default: return nullptr;
  }
}

}  // namespace

bool ggml_can_dequantize(uint32_t type) {
  return type == ggml::F32 || type == ggml::F16 || type == ggml::BF16 || block_fn(type);
}

void dequantize(uint32_t type, const uint8_t* src, int64_t n, float* dst,
                const std::string& what) {
  if (!ggml_can_dequantize(type))
    fail("{}: ggml type {} is not supported (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
         "Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K)",
         what, ggml_type_name(type));
  const GgmlTypeInfo* info = ggml_type_info(type);
  TS_CHECK(n >= 0 && n % info->block_size == 0, "{} elements of {}", n, info->name);
  switch (type) {
    case ggml::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case ggml::F16:
      for (int64_t k = 0; k < n; ++k) dst[k] = half_at(src + 2 * k);
      return;
    case ggml::BF16:
      for (int64_t k = 0; k < n; ++k) {
        uint16_t h;
        std::memcpy(&h, src + 2 * k, 2);
        dst[k] = bf16_to_f32(h);
      }
      return;
    default: break;
  }
  BlockFn fn = block_fn(type);
  const int64_t blocks = n / info->block_size;
  for (int64_t k = 0; k < blocks; ++k)
    fn(src + k * info->type_size, dst + k * info->block_size);
}

}  // namespace tessera

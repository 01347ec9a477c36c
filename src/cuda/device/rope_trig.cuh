// cos/sin of a RoPE angle in double precision, rounded to float, so the GPU's rotation
// factors equal the CPU reference's float(std::cos(double(angle))) (engine/rope.cpp).
//
// Why not the CUDA math library's cos(double): it carries a Payne-Hanek slow path for huge
// arguments that keeps a stack array in local memory, and the megakernel must have none
// (scripts/check_sass.sh checks for LDL/STL). RoPE angles are inv_freq * pos with
// inv_freq <= 1 and pos below the context (< 2^20), so a three-part Cody-Waite reduction
// by pi/2 is exact enough, followed by Taylor series on [-pi/4, pi/4] carried to x^21 /
// x^20 (truncation below 1e-21): about 1 ulp of double, far below float rounding.
#pragma once

namespace tessera::cuda {

__device__ __forceinline__ void rope_cos_sin(float angle, float* c, float* s) {
  const double x = double(angle);
  // pi/2 split in three so n * part is exact for |n| < 2^20.
  const double pio2_1 = 1.57079632673412561417e+00;
  const double pio2_2 = 6.07710050630396597660e-11;
  const double pio2_3 = 2.02226624879595063154e-21;
  const double n = rint(x * 6.36619772367581382433e-01);  // x * 2/pi
  const double r = ((x - n * pio2_1) - n * pio2_2) - n * pio2_3;
  const double z = r * r;
  // sin r = r (1 - z/3! + z^2/5! - ...), cos r = 1 - z/2! + z^2/4! - ...
  double sn = -1.0 / 121645100408832000.0;  // -1/19!
  sn = sn * z + 1.0 / 355687428096000.0;    // 1/17!
  sn = sn * z - 1.0 / 1307674368000.0;      // 1/15!
  sn = sn * z + 1.0 / 6227020800.0;         // 1/13!
  sn = sn * z - 1.0 / 39916800.0;           // 1/11!
  sn = sn * z + 1.0 / 362880.0;             // 1/9!
  sn = sn * z - 1.0 / 5040.0;               // 1/7!
  sn = sn * z + 1.0 / 120.0;                // 1/5!
  sn = sn * z - 1.0 / 6.0;                  // 1/3!
  sn = r + r * z * sn;
  double cs = 1.0 / 2432902008176640000.0;  // 1/20!
  cs = cs * z - 1.0 / 6402373705728000.0;   // 1/18!
  cs = cs * z + 1.0 / 20922789888000.0;     // 1/16!
  cs = cs * z - 1.0 / 87178291200.0;        // 1/14!
  cs = cs * z + 1.0 / 479001600.0;          // 1/12!
  cs = cs * z - 1.0 / 3628800.0;            // 1/10!
  cs = cs * z + 1.0 / 40320.0;              // 1/8!
  cs = cs * z - 1.0 / 720.0;                // 1/6!
  cs = cs * z + 1.0 / 24.0;                 // 1/4!
  cs = cs * z - 0.5;                        // 1/2!
  cs = 1.0 + z * cs;
  switch (int(int64_t(n) & 3)) {
    case 0: *c = float(cs); *s = float(sn); break;
    case 1: *c = float(-sn); *s = float(cs); break;
    case 2: *c = float(-cs); *s = float(-sn); break;
    default: *c = float(sn); *s = float(-cs); break;
  }
}

}  // namespace tessera::cuda

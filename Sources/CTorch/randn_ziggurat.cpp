// Standard normal matrices for LaCoOT's random directions, faster than ATen's randn on the CPU.
//
// ATen's CPU randn draws its uniforms one by one from the generator's Mersenne Twister and
// then applies Box-Muller (a log, a sqrt, a sine and a cosine per pair): at K = 50 directions
// over a ResNet's block features that is milliseconds per training step. Here the generator
// gives one 64-bit seed per call (so a saved generator state still resumes the same stream),
// and element e of the matrix is drawn from its own counter-based stream — SplitMix64's
// sequence at positions e·256 + j — by Marsaglia and Tsang's ziggurat (256 layers): one 64-bit
// draw, a table lookup and a comparison for ~98.5 % of the samples, the exact normal law (the
// wedges and the tail beyond R are sampled exactly). The layer index, the sign and the
// uniform come from disjoint bits of one draw. Element by element, so the values do not
// depend on how the work is split (the shim is not built with OpenMP: ATen's parallel_for
// runs serially here).
#include "shim_internal.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <vector>

namespace {

constexpr int kLayers = 256;
constexpr double kTailStart = 3.6541528853610088;  // R: where the tail starts, for 256 layers
constexpr double kLayerArea = 0.00492867323399;     // V: each layer's area under exp(-x²/2)

/// The ziggurat's layer edges x[0] > x[1] = R > … > x[256] = 0 (x[0]: the base layer's width,
/// rectangle plus tail, V / f(R)), and f(x) = exp(-x²/2) at each edge.
struct Ziggurat {
  double x[kLayers + 1];
  double f[kLayers + 1];
  Ziggurat() {
    x[0] = kLayerArea / std::exp(-0.5 * kTailStart * kTailStart);
    x[1] = kTailStart;
    for (int i = 1; i < kLayers - 1; ++i) {
      x[i + 1] = std::sqrt(-2 * std::log(kLayerArea / x[i] + std::exp(-0.5 * x[i] * x[i])));
    }
    x[kLayers] = 0;
    for (int i = 0; i <= kLayers; ++i) f[i] = std::exp(-0.5 * x[i] * x[i]);
  }
};

const Ziggurat &ziggurat() {
  static const Ziggurat table;
  return table;
}

/// SplitMix64's output function.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Element `e`'s stream: SplitMix64's sequence for `seed` at positions e·256 + 1, e·256 + 2, …
struct Stream {
  uint64_t state;
  Stream(uint64_t seed, uint64_t e) : state(seed + (e << 8) * 0x9E3779B97F4A7C15ULL) {}
  uint64_t next() { return mix(state += 0x9E3779B97F4A7C15ULL); }
  /// Uniform on (0, 1] (never 0: it goes into a log).
  double positive() { return double((next() >> 11) + 1) * 0x1.0p-53; }
};

/// The rare cases (~1.5 %), out of line: `bits` fell outside its layer's inner rectangle — the
/// tail beyond R for the base layer, the wedge test otherwise, and new draws from `s` until one
/// is accepted.
__attribute__((noinline)) double rareNormal(Stream s, uint64_t bits, const Ziggurat &z) {
  for (;;) {
    const int layer = int(bits & 0xFF);
    const double sign = (bits & 0x100) ? -1.0 : 1.0;
    const double v = double(bits >> 11) * 0x1.0p-53 * z.x[layer];
    if (v < z.x[layer + 1]) return sign * v;
    if (layer == 0) {
      // the tail beyond R (Marsaglia 1964): exact, accepted ~95 % of the time
      for (;;) {
        const double a = -std::log(s.positive()) / kTailStart;
        const double b = -std::log(s.positive());
        if (b + b > a * a) return sign * (kTailStart + a);
      }
    }
    // the wedge between the layer's rectangle and the curve
    const double height = z.f[layer] + (double(s.next() >> 11) * 0x1.0p-53) * (z.f[layer + 1] - z.f[layer]);
    if (height < std::exp(-0.5 * v * v)) return sign * v;
    bits = s.next();
  }
}

/// Element `e`'s standard normal sample: the first draw of its stream picks a layer (low 8 bits),
/// a sign (bit 8) and a uniform (the top 53 bits); inside the layer's inner rectangle (~98.5 %)
/// that is the sample.
inline __attribute__((always_inline)) double normal(uint64_t seed, uint64_t e, const Ziggurat &z) {
  Stream s(seed, e);
  const uint64_t bits = s.next();
  const int layer = int(bits & 0xFF);
  const double v = double(bits >> 11) * 0x1.0p-53 * z.x[layer];
  if (__builtin_expect(v < z.x[layer + 1], 1)) return (bits & 0x100) ? -v : v;
  return rareNormal(s, bits, z);
}

template <typename T>
void fill(T *out, int64_t count, uint64_t seed) {
  const Ziggurat &z = ziggurat();
  for (int64_t e = 0; e < count; ++e) out[e] = T(normal(seed, uint64_t(e), z));
}

/// `columns` unit vectors of R^rows as the columns of `out` ([rows, columns]): the normal
/// samples of `fill`, each column divided by its norm (summed in double as they are drawn).
template <typename T>
void unitColumns(T *out, int64_t rows, int64_t columns, uint64_t seed) {
  const Ziggurat &z = ziggurat();
  std::vector<double> sums(size_t(columns), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) {
      const double x = normal(seed, uint64_t(r * columns + c), z);
      out[r * columns + c] = T(x);
      sums[c] += x * x;
    }
  }
  for (double &v : sums) v = 1 / std::sqrt(v);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) out[r * columns + c] = T(double(out[r * columns + c]) * sums[c]);
  }
}

/// One 64-bit seed from `g` (the default CPU generator when null), under its lock.
uint64_t seedFrom(ct_generator g) {
  at::Generator source = g != nullptr ? g->g : at::detail::getDefaultCPUGenerator();
  auto *cpu = at::check_generator<at::CPUGeneratorImpl>(source);
  std::lock_guard<std::mutex> lock(source.mutex());
  return cpu->random64();
}

}  // namespace

using namespace ctorch;

ct_tensor ct_randn_ziggurat(const int64_t *shape, int ndim, int dtype, ct_generator g) {
  CT_TENSOR(
    at::Tensor out = at::empty(dims(shape, ndim), options(dtype));
    TORCH_CHECK(out.scalar_type() == at::kFloat || out.scalar_type() == at::kDouble,
                "randn_ziggurat makes float32 or float64, got ", out.scalar_type());
    const uint64_t seed = seedFrom(g);
    c10::NoGradGuard noGrad;
    AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "randn_ziggurat",
                               [&] { fill<scalar_t>(out.data_ptr<scalar_t>(), out.numel(), seed); });
    return wrap(out);
  )
}

ct_tensor ct_random_unit_columns(int64_t rows, int64_t columns, int dtype, ct_generator g) {
  CT_TENSOR(
    TORCH_CHECK(rows > 0 && columns > 0, "random unit columns need rows > 0 and columns > 0, got ", rows, " and ", columns);
    at::Tensor out = at::empty({rows, columns}, options(dtype));
    TORCH_CHECK(out.scalar_type() == at::kFloat || out.scalar_type() == at::kDouble,
                "random unit columns are float32 or float64, got ", out.scalar_type());
    const uint64_t seed = seedFrom(g);
    c10::NoGradGuard noGrad;
    AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "random_unit_columns",
                               [&] { unitColumns<scalar_t>(out.data_ptr<scalar_t>(), rows, columns, seed); });
    return wrap(out);
  )
}

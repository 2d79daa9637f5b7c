// Standard normal matrices for LaCoOT's random directions, several times faster than ATen's
// randn on the CPU, in parallel, and the same whatever the thread count.
//
// ATen's CPU randn draws its uniforms one by one from the generator's Mersenne Twister and
// then applies Box-Muller (a log, a sqrt, a sine and a cosine per pair): at K = 50 directions
// over a ResNet's block features that is milliseconds per training step. Here the generator
// gives one 64-bit seed per call (so a saved generator state still resumes the same stream),
// and element e of the matrix is drawn from its own counter-based stream — SplitMix64's
// sequence at positions e·256 + j — by Marsaglia and Tsang's ziggurat (256 layers): one 64-bit
// draw, a table lookup and a comparison for ~99 % of the samples, the exact normal law (the
// wedges and the tail beyond R are sampled exactly). The layer index, the sign and the
// uniform come from disjoint bits of one draw.
#include "shim_internal.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <cmath>
#include <cstdint>
#include <algorithm>
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

/// Element `e`'s stream: SplitMix64's sequence for `seed` at positions e·256, e·256 + 1, …
struct Stream {
  uint64_t state;
  Stream(uint64_t seed, uint64_t e) : state(seed + (e << 8) * 0x9E3779B97F4A7C15ULL) {}
  uint64_t next() { return mix(state += 0x9E3779B97F4A7C15ULL); }
  /// Uniform on (0, 1] (never 0: it goes into a log).
  double positive() { return double((next() >> 11) + 1) * 0x1.0p-53; }
};

/// One standard normal sample from `s`.
inline double normal(Stream &s, const Ziggurat &z) {
  for (;;) {
    const uint64_t bits = s.next();
    const int layer = int(bits & 0xFF);
    const double sign = (bits & 0x100) ? -1.0 : 1.0;
    const double u = double(bits >> 11) * 0x1.0p-53;  // [0, 1)
    const double v = u * z.x[layer];
    if (v < z.x[layer + 1]) return sign * v;  // inside the part of the layer under the curve
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
  }
}

template <typename T>
void fill(T *out, int64_t count, uint64_t seed) {
  const Ziggurat &z = ziggurat();
  at::parallel_for(0, count, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      Stream s(seed, uint64_t(e));
      out[e] = T(normal(s, z));
    }
  });
}

/// `columns` unit vectors of R^rows as the columns of `out` ([rows, columns]): the normal
/// samples of `fill`, each column divided by its norm. The squared norms are summed per block of
/// rows, then over the blocks in order: the same values whatever the thread count.
template <typename T>
void unitColumns(T *out, int64_t rows, int64_t columns, uint64_t seed) {
  const Ziggurat &z = ziggurat();
  constexpr int64_t kRowsPerBlock = 64;
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<double> partial(size_t(blocks * columns), 0.0);
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      double *sums = partial.data() + b * columns;
      for (int64_t r = b * kRowsPerBlock; r < std::min(rows, (b + 1) * kRowsPerBlock); ++r) {
        for (int64_t c = 0; c < columns; ++c) {
          Stream s(seed, uint64_t(r * columns + c));
          const double x = normal(s, z);
          out[r * columns + c] = T(x);
          sums[c] += x * x;
        }
      }
    }
  });
  std::vector<double> scale(size_t(columns), 0.0);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t c = 0; c < columns; ++c) scale[c] += partial[b * columns + c];
  }
  for (double &v : scale) v = 1 / std::sqrt(v);
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t c = 0; c < columns; ++c) out[r * columns + c] = T(double(out[r * columns + c]) * scale[c]);
    }
  });
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

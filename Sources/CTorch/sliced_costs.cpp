// The 1-D optimal-transport cost of every projection at once, without a graph: for columns
// k of two [N, K] projection matrices, mean_i |sort(a[:, k])_i − sort(b[:, k])_i|^p.
//
// What LaCoOT's distance does K times per block per step to pick its winning direction.
// ATen's sort computes indices too and sorts strided columns; here each column is copied
// into a buffer, its values alone sorted, the gaps reduced in double. (The columns are handed
// to ATen's parallel_for, which runs them serially: the shim is not built with OpenMP.)
#include "shim_internal.h"

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <algorithm>
#include <cmath>

namespace {

template <typename T>
void columnCosts(const at::Tensor &a, const at::Tensor &b, double p, at::Tensor &out) {
  const int64_t n = a.size(0), k = a.size(1);
  // columns as rows: one contiguous run of N per direction
  at::Tensor at = a.t().contiguous(), bt = b.t().contiguous();
  const T *pa = at.data_ptr<T>(), *pb = bt.data_ptr<T>();
  T *po = out.data_ptr<T>();
  at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> x(n), y(n);
    for (int64_t c = begin; c < end; ++c) {
      std::copy(pa + c * n, pa + (c + 1) * n, x.begin());
      std::copy(pb + c * n, pb + (c + 1) * n, y.begin());
      std::sort(x.begin(), x.end());
      std::sort(y.begin(), y.end());
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        double gap = std::abs(double(x[i]) - double(y[i]));
        sum += p == 2 ? gap * gap : (p == 1 ? gap : std::pow(gap, p));
      }
      po[c] = T(sum / double(n));
    }
  });
}

}  // namespace

using namespace ctorch;

ct_tensor ct_sliced_costs(ct_tensor a, ct_tensor b, double p) { CT_REQUIRE(a, nullptr) CT_REQUIRE(b, nullptr)
  CT_TENSOR(
    const at::Tensor &x = a->t, &y = b->t;
    TORCH_CHECK(x.dim() == 2 && x.sizes() == y.sizes(), "sliced costs need two [N, K] matrices of one shape, got ",
                x.sizes(), " and ", y.sizes());
    TORCH_CHECK(x.scalar_type() == y.scalar_type(), "sliced costs need one dtype, got ", x.scalar_type(), " and ", y.scalar_type());
    TORCH_CHECK(x.device().is_cpu(), "sliced costs run on the CPU");
    TORCH_CHECK(x.size(0) > 0, "sliced costs need at least one sample");
    c10::NoGradGuard noGrad;
    at::Tensor out = at::empty({x.size(1)}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sliced_costs", [&] { columnCosts<scalar_t>(x, y, p, out); });
    return wrap(out);
  )
}

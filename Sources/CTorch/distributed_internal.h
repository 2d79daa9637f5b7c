// Internal to the shim's data-parallel files: c10d's headers when Gloo's are available, and
// the handles they share.
#pragma once
#include "shim_internal.h"

#if __has_include(<gloo/config.h>) && !defined(CTORCH_NO_GLOO)
#define USE_C10D_GLOO 1
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define CTORCH_HAS_GLOO 1
#endif
// NCCL for a CUDA libtorch (its nccl.h on the include path): written to PyTorch's API, not
// compiled on these CPU-only machines.
#if defined(CTORCH_HAS_GLOO) && defined(CTORCH_HAS_CUDA) && __has_include(<nccl.h>)
#define USE_C10D_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define CTORCH_HAS_NCCL 1
#endif

#ifdef CTORCH_HAS_GLOO
struct ct_store_s {
  c10::intrusive_ptr<c10d::TCPStore> store;
  std::string host;
  int port;
};

struct ct_group_s {
  c10::intrusive_ptr<c10d::Backend> group;   // Gloo, or NCCL on CUDA
  int rank, world;
};
#endif

namespace ctorch {
// The tensors' indices, taken in `order`, grouped into buckets of at most `bucket_bytes` (a
// larger tensor alone) that never mix dtypes: what one flattened all-reduce carries.
inline std::vector<std::vector<size_t>> buckets_by_size(const std::vector<at::Tensor> &tensors,
                                                       const std::vector<size_t> &order, int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;
  for (auto i : order) {
    int64_t bytes = tensors[i].numel() * tensors[i].element_size();
    bool same_type = !buckets.empty() && tensors[buckets.back().front()].scalar_type() == tensors[i].scalar_type();
    if (!same_type || filled + bytes > bucket_bytes) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(i);
    filled += bytes;
  }
  return buckets;
}
}  // namespace ctorch

#define CT_NO_GLOO(failure) \
  ctorch::set_error("this build has no Gloo (c10d) support: install Debian's libgloo-dev (scripts/setup) and rebuild"); \
  return failure;

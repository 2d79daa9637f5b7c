// Library state, tensor metadata, creation, random numbers, shapes, elementwise ops and
// reductions. Kernels for networks, autograd and optimizers live in nn_autograd.cpp.
#include "shim_internal.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#if __has_include(<torch/csrc/api/include/torch/version.h>)
#include <torch/csrc/api/include/torch/version.h>
#endif
#include <c10/core/GradMode.h>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <sched.h>
#include <unistd.h>

namespace ctorch {
static thread_local std::string last_error;
void set_error(const std::string &message) { last_error = message; }

static int active_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
}
std::atomic<int> wanted_threads{active_cores()};
thread_local int applied_threads = 0;
void apply_threads_slow() {
  int n = wanted_threads.load();
  at::set_num_threads(n);
  applied_threads = n;
}
}  // namespace ctorch

using namespace ctorch;

extern "C" {

// ---- errors, library ----
const char *ct_last_error(void) { return last_error.c_str(); }
void ct_clear_error(void) { last_error.clear(); }

const char *ct_version(void) {
  static std::string version;
  if (version.empty()) {
#ifdef TORCH_VERSION_MAJOR
    version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
              "." + std::to_string(TORCH_VERSION_PATCH);
#else
    version = "unknown";
#endif
  }
  return version.c_str();
}

const char *ct_config(void) {
  static thread_local std::string config;
  try {
    config = at::show_config();
  } catch (...) {
    config = "";
  }
  return config.c_str();
}

bool ct_has_mkldnn(void) { return at::hasMKLDNN(); }
bool ct_has_openmp(void) { return at::globalContext().hasOpenMP(); }
int ct_get_num_threads(void) { apply_threads(); return at::get_num_threads(); }
int ct_set_num_threads(int n) {
  CT_STATUS(
    TORCH_CHECK(n >= 1, "thread count must be at least 1, got ", n);
    wanted_threads.store(n);
    apply_threads();
    return 0;
  )
}
int ct_active_cores(void) { return active_cores(); }
void ct_manual_seed(uint64_t seed) {
  try { at::manual_seed(seed); } catch (...) {}
}
bool ct_set_grad_enabled(bool enabled) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(enabled);
  return previous;
}
bool ct_is_grad_enabled(void) { return c10::GradMode::is_enabled(); }

// ---- lifetime, metadata ----
void ct_free(ct_tensor t) { delete t; }
ct_tensor ct_shallow_copy(ct_tensor t) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t);) }
int ct_dim(ct_tensor t) { CT_REQUIRE(t, -1) return static_cast<int>(t->t.dim()); }
int ct_sizes(ct_tensor t, int64_t *out, int cap) { CT_REQUIRE(t, -1)
  auto s = t->t.sizes();
  int n = static_cast<int>(s.size());
  for (int i = 0; i < n && i < cap; i++) out[i] = s[i];
  return n;
}
int ct_strides(ct_tensor t, int64_t *out, int cap) { CT_REQUIRE(t, -1)
  CT_STATUS(
    auto s = t->t.strides();
    int n = static_cast<int>(s.size());
    for (int i = 0; i < n && i < cap; i++) out[i] = s[i];
    return n;
  )
}
int64_t ct_numel(ct_tensor t) { CT_REQUIRE(t, -1) return t->t.numel(); }
int ct_dtype(ct_tensor t) { CT_REQUIRE(t, -1) return static_cast<int>(t->t.scalar_type()); }
bool ct_requires_grad(ct_tensor t) { CT_REQUIRE(t, false) return t->t.requires_grad(); }
int ct_set_requires_grad(ct_tensor t, bool on) { CT_REQUIRE(t, -1) CT_STATUS(t->t.requires_grad_(on); return 0;) }
bool ct_is_contiguous(ct_tensor t, int memory_format) { CT_REQUIRE(t, false)
  return t->t.is_contiguous(memory_format == 1 ? at::MemoryFormat::ChannelsLast
                                               : at::MemoryFormat::Contiguous);
}
bool ct_defined(ct_tensor t) { return t != nullptr && t->t.defined(); }

// ---- creation ----
ct_tensor ct_empty(const int64_t *shape, int ndim, int dtype) {
  CT_TENSOR(return wrap(at::empty(dims(shape, ndim), options(dtype)));)
}
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype) {
  CT_TENSOR(return wrap(at::full(dims(shape, ndim), value, options(dtype)));)
}
ct_tensor ct_arange(double start, double end, double step, int dtype) {
  CT_TENSOR(return wrap(at::arange(start, end, step, options(dtype)));)
}
ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype) {
  CT_TENSOR(
    at::Tensor t = at::empty(dims(shape, ndim), options(dtype));
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    if (bytes > 0) std::memcpy(t.data_ptr(), data, bytes);
    return wrap(t);
  )
}
int ct_copy_data(ct_tensor t, void *out, size_t nbytes) { CT_REQUIRE(t, -1)
  CT_STATUS(
    at::Tensor c = t->t.detach().contiguous();
    size_t bytes = static_cast<size_t>(c.numel()) * c.element_size();
    TORCH_CHECK(bytes == nbytes, "ct_copy_data: tensor holds ", bytes, " bytes, buffer has ", nbytes);
    if (bytes > 0) std::memcpy(out, c.data_ptr(), bytes);
    return 0;
  )
}
void *ct_data_ptr(ct_tensor t) { CT_REQUIRE(t, nullptr)
  if (!t->t.is_contiguous()) { set_error("ct_data_ptr: tensor is not contiguous"); return nullptr; }
  return t->t.data_ptr();
}
double ct_item(ct_tensor t) { CT_REQUIRE(t, NAN) CT_GUARD(NAN, return t->t.item<double>();) }

// ---- random ----
ct_generator ct_generator_new(uint64_t seed) {
  CT_GUARD(nullptr, return new ct_generator_s{at::make_generator<at::CPUGeneratorImpl>(seed)};)
}
void ct_generator_free(ct_generator g) { delete g; }
ct_tensor ct_generator_get_state(ct_generator g) { CT_REQUIRE(g, nullptr) CT_TENSOR(return wrap(g->g.get_state());) }
int ct_generator_set_state(ct_generator g, ct_tensor state) { CT_REQUIRE(g, -1) CT_REQUIRE(state, -1)
  CT_STATUS(g->g.set_state(state->t); return 0;)
}
ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, ct_generator g) {
  CT_TENSOR(return wrap(at::rand(dims(shape, ndim), generator(g), options(dtype)));)
}
ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, ct_generator g) {
  CT_TENSOR(return wrap(at::randn(dims(shape, ndim), generator(g), options(dtype)));)
}
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, ct_generator g) {
  CT_TENSOR(return wrap(at::randint(low, high, dims(shape, ndim), generator(g), options(CT_INT64)));)
}
ct_tensor ct_randperm(int64_t n, ct_generator g) {
  CT_TENSOR(return wrap(at::randperm(n, generator(g), options(CT_INT64)));)
}
int ct_uniform_(ct_tensor t, double from, double to, ct_generator g) { CT_REQUIRE(t, -1)
  CT_STATUS(at::NoGradGuard ng; t->t.uniform_(from, to, generator(g)); return 0;)
}
int ct_normal_(ct_tensor t, double mean, double std, ct_generator g) { CT_REQUIRE(t, -1)
  CT_STATUS(at::NoGradGuard ng; t->t.normal_(mean, std, generator(g)); return 0;)
}
ct_tensor ct_bernoulli(ct_tensor p, ct_generator g) { CT_REQUIRE(p, nullptr)
  CT_TENSOR(return wrap(at::bernoulli(p->t, generator(g)));)
}

// ---- conversion, shape ----
ct_tensor ct_to_dtype(ct_tensor t, int dtype) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.to(scalar_type(dtype)));) }
ct_tensor ct_contiguous(ct_tensor t, int memory_format) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(return wrap(t->t.contiguous(memory_format == 1 ? at::MemoryFormat::ChannelsLast
                                                            : at::MemoryFormat::Contiguous));)
}
ct_tensor ct_reshape(ct_tensor t, const int64_t *shape, int ndim) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(return wrap(t->t.reshape(dims(shape, ndim)));)
}
ct_tensor ct_permute(ct_tensor t, const int64_t *d, int ndim) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(return wrap(t->t.permute(dims(d, ndim)));)
}
ct_tensor ct_transpose(ct_tensor t, int64_t d0, int64_t d1) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.transpose(d0, d1));) }
ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.flatten(start, end));) }
ct_tensor ct_expand(ct_tensor t, const int64_t *shape, int ndim) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(return wrap(t->t.expand(dims(shape, ndim)));)
}
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.unsqueeze(dim));) }
ct_tensor ct_squeeze(ct_tensor t, int64_t dim) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.squeeze(dim));) }

static std::vector<at::Tensor> list(const ct_tensor *ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) v.push_back(ts[i]->t);
  return v;
}
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim) { CT_TENSOR(return wrap(at::cat(list(ts, n), dim));) }
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim) { CT_TENSOR(return wrap(at::stack(list(ts, n), dim));) }
ct_tensor ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t length) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(return wrap(t->t.narrow(dim, start, length));)
}
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.select(dim, index));) }
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index) { CT_REQUIRE(t, nullptr) CT_REQUIRE(index, nullptr)
  CT_TENSOR(return wrap(t->t.index_select(dim, index->t));)
}
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor index) { CT_REQUIRE(t, nullptr) CT_REQUIRE(index, nullptr) CT_TENSOR(return wrap(t->t.gather(dim, index->t));) }
ct_tensor ct_pad(ct_tensor t, const int64_t *pad, int npad, double value) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(return wrap(at::constant_pad_nd(t->t, dims(pad, npad), value));)
}
ct_tensor ct_roll(ct_tensor t, const int64_t *shifts, const int64_t *d, int n) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(return wrap(at::roll(t->t, dims(shifts, n), dims(d, n)));)
}
ct_tensor ct_flip(ct_tensor t, const int64_t *d, int n) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.flip(dims(d, n)));) }
ct_tensor ct_clone(ct_tensor t) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.clone());) }
ct_tensor ct_detach(ct_tensor t) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.detach());) }
ct_tensor ct_where(ct_tensor c, ct_tensor a, ct_tensor b) { CT_REQUIRE(c, nullptr) CT_REQUIRE(a, nullptr) CT_REQUIRE(b, nullptr) CT_TENSOR(return wrap(at::where(c->t, a->t, b->t));) }

// ---- elementwise ----
ct_tensor ct_activation_inplace(int op, ct_tensor tt) { CT_REQUIRE(tt, nullptr)
  CT_TENSOR(
    at::Tensor &t = tt->t;
    switch (op) {
      case CT_U_RELU: at::relu_(t); return wrap(t);
      case CT_U_RELU6: at::hardtanh_(t, 0.0, 6.0); return wrap(t);
    }
    TORCH_CHECK(false, "no in-place form of unary op ", op);
  )
}
ct_tensor ct_unary(int op, ct_tensor tt) { CT_REQUIRE(tt, nullptr)
  CT_TENSOR(
    const at::Tensor &t = tt->t;
    switch (op) {
      case CT_U_NEG: return wrap(t.neg());
      case CT_U_ABS: return wrap(t.abs());
      case CT_U_SQRT: return wrap(t.sqrt());
      case CT_U_EXP: return wrap(t.exp());
      case CT_U_LOG: return wrap(t.log());
      case CT_U_RELU: return wrap(at::relu(t));
      case CT_U_RELU6: return wrap(at::hardtanh(t, 0.0, 6.0));
      case CT_U_GELU: return wrap(at::gelu(t, "none"));
      case CT_U_GELU_TANH: return wrap(at::gelu(t, "tanh"));
      case CT_U_SIGMOID: return wrap(t.sigmoid());
      case CT_U_TANH: return wrap(t.tanh());
      case CT_U_SQUARE: return wrap(t.square());
      case CT_U_RSQRT: return wrap(t.rsqrt());
      case CT_U_SIGN: return wrap(t.sign());
      case CT_U_ISFINITE: return wrap(t.isfinite());
      case CT_U_LOGICAL_NOT: return wrap(t.logical_not());
      case CT_U_FLOOR: return wrap(t.floor());
      case CT_U_CEIL: return wrap(t.ceil());
      case CT_U_ROUND: return wrap(t.round());
      case CT_U_ERFINV: return wrap(t.erfinv());
    }
    TORCH_CHECK(false, "unknown unary op ", op);
  )
}

static at::Tensor binary(int op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
    case CT_B_ADD: return a.add(b);
    case CT_B_SUB: return a.sub(b);
    case CT_B_MUL: return a.mul(b);
    case CT_B_DIV: return a.div(b);
    case CT_B_POW: return a.pow(b);
    case CT_B_MAXIMUM: return at::maximum(a, b);
    case CT_B_MINIMUM: return at::minimum(a, b);
    case CT_B_EQ: return a.eq(b);
    case CT_B_NE: return a.ne(b);
    case CT_B_LT: return a.lt(b);
    case CT_B_LE: return a.le(b);
    case CT_B_GT: return a.gt(b);
    case CT_B_GE: return a.ge(b);
    case CT_B_MATMUL: return at::matmul(a, b);
    case CT_B_REMAINDER: return a.remainder(b);
  }
  TORCH_CHECK(false, "unknown binary op ", op);
}
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b) { CT_REQUIRE(a, nullptr) CT_REQUIRE(b, nullptr) CT_TENSOR(return wrap(binary(op, a->t, b->t));) }

ct_tensor ct_binary_scalar(int op, ct_tensor a, double s) { CT_REQUIRE(a, nullptr)
  CT_TENSOR(
    const at::Tensor &t = a->t;
    at::Scalar v(s);
    switch (op) {
      case CT_B_ADD: return wrap(t.add(v));
      case CT_B_SUB: return wrap(t.sub(v));
      case CT_B_MUL: return wrap(t.mul(v));
      case CT_B_DIV: return wrap(t.div(v));
      case CT_B_POW: return wrap(t.pow(v));
      case CT_B_MAXIMUM: return wrap(t.clamp_min(v));
      case CT_B_MINIMUM: return wrap(t.clamp_max(v));
      case CT_B_EQ: return wrap(t.eq(v));
      case CT_B_NE: return wrap(t.ne(v));
      case CT_B_LT: return wrap(t.lt(v));
      case CT_B_LE: return wrap(t.le(v));
      case CT_B_GT: return wrap(t.gt(v));
      case CT_B_GE: return wrap(t.ge(v));
      case CT_B_REMAINDER: return wrap(t.remainder(v));
    }
    TORCH_CHECK(false, "binary op ", op, " has no scalar form");
  )
}
ct_tensor ct_clamp(ct_tensor t, double lo, double hi, bool has_lo, bool has_hi) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(
    c10::optional<at::Scalar> l, h;
    if (has_lo) l = lo;
    if (has_hi) h = hi;
    return wrap(at::clamp(t->t, l, h));
  )
}

// ---- in place ----
int ct_inplace(int op, ct_tensor self, ct_tensor other, double alpha) { CT_REQUIRE(self, -1) CT_REQUIRE(other, -1)
  CT_STATUS(
    at::NoGradGuard ng;
    at::Tensor &s = self->t;
    const at::Tensor &o = other->t;
    switch (op) {
      case CT_I_ADD: s.add_(o, alpha); return 0;
      case CT_I_SUB: s.sub_(o, alpha); return 0;
      case CT_I_MUL: s.mul_(o); return 0;
      case CT_I_DIV: s.div_(o); return 0;
      case CT_I_COPY: s.copy_(o); return 0;
    }
    TORCH_CHECK(false, "unknown in-place op ", op);
  )
}
int ct_inplace_scalar(int op, ct_tensor self, double v) { CT_REQUIRE(self, -1)
  CT_STATUS(
    at::NoGradGuard ng;
    at::Tensor &s = self->t;
    switch (op) {
      case CT_I_ADD: s.add_(v); return 0;
      case CT_I_SUB: s.sub_(v); return 0;
      case CT_I_MUL: s.mul_(v); return 0;
      case CT_I_DIV: s.div_(v); return 0;
      case CT_I_COPY: s.fill_(v); return 0;
    }
    TORCH_CHECK(false, "unknown in-place op ", op);
  )
}
int ct_addcmul_(ct_tensor self, ct_tensor a, ct_tensor b, double value) { CT_REQUIRE(self, -1) CT_REQUIRE(a, -1) CT_REQUIRE(b, -1)
  CT_STATUS(at::NoGradGuard ng; self->t.addcmul_(a->t, b->t, value); return 0;)
}
int ct_addcdiv_(ct_tensor self, ct_tensor a, ct_tensor b, double value) { CT_REQUIRE(self, -1) CT_REQUIRE(a, -1) CT_REQUIRE(b, -1)
  CT_STATUS(at::NoGradGuard ng; self->t.addcdiv_(a->t, b->t, value); return 0;)
}
int ct_zero_(ct_tensor t) { CT_REQUIRE(t, -1) CT_STATUS(at::NoGradGuard ng; t->t.zero_(); return 0;) }

// ---- reductions ----
ct_tensor ct_reduce(int op, ct_tensor tt, const int64_t *d, int ndims, bool keepdim) { CT_REQUIRE(tt, nullptr)
  CT_TENSOR(
    const at::Tensor &t = tt->t;
    bool all = ndims == 0;
    auto ds = dims(d, ndims);
    switch (op) {
      case CT_R_SUM: return wrap(all ? t.sum() : t.sum(ds, keepdim));
      case CT_R_MEAN: return wrap(all ? t.mean() : t.mean(ds, keepdim));
      case CT_R_AMAX: return wrap(t.amax(ds, keepdim));
      case CT_R_AMIN: return wrap(t.amin(ds, keepdim));
      case CT_R_PROD: TORCH_CHECK(ndims <= 1, "prod reduces over one dim or all");
        return wrap(all ? t.prod() : t.prod(d[0], keepdim));
      case CT_R_VAR: return wrap(all ? t.var(false) : t.var(ds, false, keepdim));
      case CT_R_STD: return wrap(all ? t.std(false) : t.std(ds, false, keepdim));
    }
    TORCH_CHECK(false, "unknown reduction ", op);
  )
}
int ct_max_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices) { CT_REQUIRE(t, -1)
  CT_STATUS(auto r = t->t.max(dim, keepdim); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0;)
}
int ct_min_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices) { CT_REQUIRE(t, -1)
  CT_STATUS(auto r = t->t.min(dim, keepdim); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0;)
}
ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim) { CT_REQUIRE(t, nullptr) CT_TENSOR(return wrap(t->t.argmax(dim, keepdim));) }
ct_tensor ct_norm(ct_tensor t, double p, const int64_t *d, int ndims, bool keepdim) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(
    if (ndims == 0) return wrap(at::norm(t->t, p));
    return wrap(at::norm(t->t, p, dims(d, ndims), keepdim));
  )
}
int ct_sort(ct_tensor t, int64_t dim, bool descending, ct_tensor *values, ct_tensor *indices) { CT_REQUIRE(t, -1)
  CT_STATUS(auto r = t->t.sort(dim, descending); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0;)
}
int ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, ct_tensor *values, ct_tensor *indices) { CT_REQUIRE(t, -1)
  CT_STATUS(auto r = t->t.topk(k, dim, largest, true); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)); return 0;)
}

}  // extern "C"

// Network kernels (conv, batch norm, pooling, losses), autograd, fused optimizer updates.
#include "shim_internal.h"

#include <ATen/autocast_mode.h>
#include <ATen/ops/_fused_sgd.h>
#include <ATen/Context.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <fstream>
#include <sstream>

using namespace ctorch;

extern "C" {

// ---- mixed precision ----
int ct_autocast_set(int device_type, bool enabled, int dtype) {
  CT_STATUS(
    auto device = static_cast<c10::DeviceType>(device_type);
    bool previous = at::autocast::is_autocast_enabled(device);
    if (enabled) {
      auto type = scalar_type(dtype);
      TORCH_CHECK(type == at::kBFloat16 || type == at::kHalf, "autocast needs bfloat16 or float16");
      at::autocast::set_autocast_dtype(device, type);
      at::autocast::increment_nesting();
    } else if (at::autocast::decrement_nesting() == 0) {
      at::autocast::clear_cache();
    }
    at::autocast::set_autocast_enabled(device, enabled);
    return previous ? 1 : 0;
  )
}
bool ct_autocast_enabled(int device_type) {
  try {
    return at::autocast::is_autocast_enabled(static_cast<c10::DeviceType>(device_type));
  } catch (...) {
    return false;
  }
}

bool ct_cpu_has_native_bf16(void) {
  try {
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line);
      std::string flag;
      while (words >> flag) if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
      return false;
    }
  } catch (...) {
  }
  return false;
}

// ---- profiler ----
int ct_profiler_start(void) {
  CT_STATUS(
    namespace prof = torch::profiler::impl;
    prof::ProfilerConfig config(prof::ProfilerState::KINETO);
    std::set<prof::ActivityType> activities{prof::ActivityType::CPU};
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
    return 0;
  )
}
char *ct_profiler_stop(void) {
  CT_GUARD(nullptr,
    auto result = torch::autograd::profiler::disableProfiler();
    std::ostringstream out;
    for (const auto &e : result->events()) {
      if (e.deviceType() != c10::DeviceType::CPU) continue;
      std::string name = e.name();
      for (char &c : name) if (c == '\t' || c == '\n') c = ' ';
      out << name << '\t' << e.startThreadId() << '\t' << e.startNs() << '\t' << e.endNs() << '\n';
    }
    std::string text = out.str();
    char *copy = static_cast<char *>(std::malloc(text.size() + 1));
    TORCH_CHECK(copy != nullptr, "out of memory copying the profile");
    std::memcpy(copy, text.c_str(), text.size() + 1);
    return copy;
  )
}
void ct_free_string(char *text) { std::free(text); }

// ---- devices ----
bool ct_cuda_is_available(void) {
  try { return at::getNumGPUs() > 0; } catch (...) { return false; }
}
int ct_cuda_device_count(void) {
  try { return static_cast<int>(at::getNumGPUs()); } catch (...) { return 0; }
}
int ct_device_of(ct_tensor t, int *index) { CT_REQUIRE(t, -1)
  CT_STATUS(
    auto device = t->t.device();
    if (index != nullptr) *index = device.has_index() ? device.index() : -1;
    return static_cast<int>(device.type());
  )
}
ct_tensor ct_to_device(ct_tensor t, int device_type, int index, bool non_blocking) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(
    auto type = static_cast<c10::DeviceType>(device_type);
    TORCH_CHECK(type == c10::DeviceType::CPU || type == c10::DeviceType::CUDA, "unknown device type ", device_type);
    TORCH_CHECK(type != c10::DeviceType::CUDA || ct_cuda_is_available(),
                "CUDA is not available (this libtorch has no CUDA, or no GPU is visible)");
    c10::Device device(type, static_cast<c10::DeviceIndex>(index));
    at::Tensor moved = t->t.to(device, non_blocking);
    if (t->t.is_leaf() && t->t.requires_grad() && !moved.is_same(t->t)) {
      moved = moved.detach().requires_grad_(true);
    }
    return wrap(moved);
  )
}

// ---- neural-network kernels ----
ct_tensor ct_matmul(ct_tensor a, ct_tensor b) { CT_REQUIRE(a, nullptr) CT_REQUIRE(b, nullptr) CT_TENSOR(return wrap(at::matmul(a->t, b->t));) }
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b) { CT_REQUIRE(x, nullptr) CT_REQUIRE(w, nullptr)
  CT_TENSOR(return wrap(at::linear(x->t, w->t, optional(b)));)
}
// oneDNN's channels-last backward of a strided 1x1 convolution with fewer than 8 input channels
// per group (a ResNet's downsample at width 4) corrupts the heap or hangs on an AVX2-only AMD
// EPYC (its brgemm kernel; PyTorch 2.13 alone does the same, docs/RELIABILITY.md). Such a
// convolution runs in NCHW, its output handed back channels-last: the same values, another kernel.
static bool avoids_strided_pointwise_channels_last(const at::Tensor &x, const at::Tensor &w, const int64_t *stride) {
  return x.dim() == 4 && w.dim() == 4 && w.size(2) == 1 && w.size(3) == 1 && w.size(1) < 8 &&
         (stride[0] > 1 || stride[1] > 1) && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
}
ct_tensor ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor b, const int64_t *stride,
                    const int64_t *padding, const int64_t *dilation, int64_t groups) { CT_REQUIRE(x, nullptr) CT_REQUIRE(w, nullptr)
  CT_TENSOR(
    if (avoids_strided_pointwise_channels_last(x->t, w->t, stride)) {
      return wrap(at::conv2d(x->t.contiguous(), w->t.contiguous(), optional(b), dims(stride, 2), dims(padding, 2),
                             dims(dilation, 2), groups).contiguous(at::MemoryFormat::ChannelsLast));
    }
    return wrap(at::conv2d(x->t, w->t, optional(b), dims(stride, 2), dims(padding, 2),
                           dims(dilation, 2), groups));)
}
ct_tensor ct_batch_norm(ct_tensor x, ct_tensor w, ct_tensor b, ct_tensor running_mean,
                        ct_tensor running_var, bool training, double momentum, double eps) { CT_REQUIRE(x, nullptr)
  CT_TENSOR(return wrap(at::batch_norm(x->t, optional(w), optional(b), optional(running_mean),
                                       optional(running_var), training, momentum, eps, false));)
}
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, ct_tensor b, double eps) { CT_REQUIRE(x, nullptr)
  CT_TENSOR(return wrap(at::layer_norm(x->t, dims(shape, ndim), optional(w), optional(b), eps, false));)
}
ct_tensor ct_max_pool2d(ct_tensor x, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, const int64_t *dilation, bool ceil_mode) { CT_REQUIRE(x, nullptr)
  CT_TENSOR(return wrap(at::max_pool2d(x->t, dims(kernel, 2), dims(stride, 2), dims(padding, 2),
                                       dims(dilation, 2), ceil_mode));)
}
ct_tensor ct_avg_pool2d(ct_tensor x, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, bool ceil_mode, bool count_include_pad) { CT_REQUIRE(x, nullptr)
  CT_TENSOR(return wrap(at::avg_pool2d(x->t, dims(kernel, 2), dims(stride, 2), dims(padding, 2),
                                       ceil_mode, count_include_pad, c10::nullopt));)
}
ct_tensor ct_adaptive_avg_pool2d(ct_tensor x, const int64_t *output_size) { CT_REQUIRE(x, nullptr)
  CT_TENSOR(return wrap(at::adaptive_avg_pool2d(x->t, dims(output_size, 2)));)
}
ct_tensor ct_softmax(ct_tensor x, int64_t dim) { CT_REQUIRE(x, nullptr) CT_TENSOR(return wrap(at::softmax(x->t, dim));) }
ct_tensor ct_log_softmax(ct_tensor x, int64_t dim) { CT_REQUIRE(x, nullptr) CT_TENSOR(return wrap(at::log_softmax(x->t, dim));) }
ct_tensor ct_dropout(ct_tensor x, double p, bool training, ct_generator g) { CT_REQUIRE(x, nullptr)
  CT_TENSOR(
    TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
    if (!training || p == 0) return wrap(x->t);
    if (p == 1) return wrap(x->t * 0);
    if (g == nullptr) return wrap(at::dropout(x->t, p, true));
    at::Tensor keep = at::bernoulli(at::full_like(x->t, 1 - p), g->g);
    return wrap(x->t * keep / (1 - p));
  )
}
ct_tensor ct_scaled_dot_product_attention(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor attn_mask,
                                          double dropout_p) { CT_REQUIRE(q, nullptr) CT_REQUIRE(k, nullptr) CT_REQUIRE(v, nullptr)
  CT_TENSOR(
    TORCH_CHECK(dropout_p >= 0 && dropout_p < 1, "attention dropout must be in [0, 1), got ", dropout_p);
    return wrap(at::scaled_dot_product_attention(q->t, k->t, v->t, optional(attn_mask), dropout_p, false));
  )
}
ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, int reduction, double label_smoothing) { CT_REQUIRE(logits, nullptr) CT_REQUIRE(target, nullptr)
  CT_TENSOR(return wrap(at::cross_entropy_loss(logits->t, target->t, c10::nullopt, reduction, -100,
                                               label_smoothing));)
}

// ---- autograd ----
int ct_backward(ct_tensor t, ct_tensor grad, bool retain_graph) { CT_REQUIRE(t, -1)
  CT_STATUS(
    at::Tensor g = grad ? grad->t : at::Tensor();
    t->t.backward(g, retain_graph);
    return 0;
  )
}
ct_tensor ct_grad(ct_tensor t) { CT_REQUIRE(t, nullptr)
  CT_TENSOR(
    const at::Tensor &g = t->t.grad();
    if (!g.defined()) return nullptr;
    return wrap(g);
  )
}
int ct_zero_grad(ct_tensor t) { CT_REQUIRE(t, -1) CT_STATUS(t->t.mutable_grad().reset(); return 0;) }

int ct_autograd_grad(const ct_tensor *outputs, const ct_tensor *grad_outputs, int nout,
                     const ct_tensor *inputs, int nin, ct_tensor *results, bool create_graph) {
  CT_STATUS(
    std::vector<at::Tensor> outs, gouts, ins;
    for (int i = 0; i < nout; i++) {
      outs.push_back(outputs[i]->t);
      gouts.push_back(grad_outputs && grad_outputs[i] ? grad_outputs[i]->t : at::Tensor());
    }
    for (int i = 0; i < nin; i++) ins.push_back(inputs[i]->t);
    auto grads = torch::autograd::grad(outs, ins, gouts, create_graph, create_graph, true);
    for (int i = 0; i < nin; i++) results[i] = grads[i].defined() ? wrap(grads[i]) : nullptr;
    return 0;
  )
}

// ---- fused optimizer updates (PyTorch's update rules, parameters without a gradient skipped) ----
// SGD with momentum as one fused kernel over all parameters (what torch.optim.SGD(fused=True)
// runs): one pass per tensor instead of four. Used when every parameter has a gradient, all
// momentum buffers exist or none does (the first step), and parameter, gradient and buffer
// share their layout; returns false (nothing done) otherwise.
static bool sgd_step_fused(ct_tensor *params, ct_tensor *bufs, int n, double lr, double momentum,
                           double dampening, double weight_decay, bool nesterov) {
  if (n == 0) return false;
  bool first = bufs[0] == nullptr;
  std::vector<at::Tensor> ps, gs, ms;
  ps.reserve(n); gs.reserve(n); ms.reserve(n);
  for (int i = 0; i < n; i++) {
    const at::Tensor &p = params[i]->t;
    const at::Tensor &g = p.grad();
    if (!g.defined() || (bufs[i] == nullptr) != first || !p.is_floating_point() || g.scalar_type() != p.scalar_type() ||
        g.strides() != p.strides() || !p.is_non_overlapping_and_dense() || p.device() != params[0]->t.device()) {
      return false;
    }
    if (!first && bufs[i]->t.strides() != p.strides()) return false;
    ps.push_back(p);
    gs.push_back(g);
  }
  for (int i = 0; i < n; i++) {
    if (first) bufs[i] = wrap(at::empty_like(ps[i], at::MemoryFormat::Preserve));
    ms.push_back(bufs[i]->t);
  }
  at::_fused_sgd_(ps, gs, ms, weight_decay, momentum, lr, dampening, nesterov, false, first);
  return true;
}

// An optimizer step is all or nothing: every input is checked before any tensor changes, so a
// bad one (a null handle, a gradient or state whose shape, dtype or device differs from its
// parameter's) leaves the parameters and the state as they were.
static bool step_inputs_valid(ct_tensor *params, ct_tensor *state1, ct_tensor *state2, int n) {
  if (n < 0 || (n > 0 && params == nullptr)) { ctorch::set_error("optimizer step: no parameter list"); return false; }
  for (int i = 0; i < n; i++) {
    if (params[i] == nullptr || !params[i]->t.defined()) {
      ctorch::set_error("optimizer step: parameter " + std::to_string(i) + " is a null handle");
      return false;
    }
    const at::Tensor &p = params[i]->t;
    const at::Tensor &g = p.grad();
    auto same = [&](const at::Tensor &t, const char *what) {
      if (t.sizes() != p.sizes() || t.scalar_type() != p.scalar_type() || t.device() != p.device()) {
        ctorch::set_error(std::string("optimizer step: the ") + what + " of parameter " + std::to_string(i) +
                          " does not match it (shape, dtype or device)");
        return false;
      }
      return true;
    };
    if (g.defined() && !same(g, "gradient")) return false;
    if (state1 != nullptr && state1[i] != nullptr && !same(state1[i]->t, "first state tensor")) return false;
    if (state2 != nullptr && state2[i] != nullptr && !same(state2[i]->t, "second state tensor")) return false;
  }
  return true;
}

int ct_sgd_step(ct_tensor *params, ct_tensor *bufs, int n, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov) {
  CT_STATUS(
    if (!step_inputs_valid(params, bufs, nullptr, n)) return -1;
    at::NoGradGuard ng;
    if (momentum != 0 && sgd_step_fused(params, bufs, n, lr, momentum, dampening, weight_decay, nesterov)) return 0;
    for (int i = 0; i < n; i++) {
      at::Tensor &p = params[i]->t;
      const at::Tensor &g = p.grad();
      if (!g.defined()) continue;
      at::Tensor d = weight_decay != 0 ? g.add(p, weight_decay) : g;
      if (momentum != 0) {
        if (bufs[i] == nullptr) {
          bufs[i] = wrap(d.clone().detach());
        } else {
          bufs[i]->t.mul_(momentum).add_(d, 1 - dampening);
        }
        d = nesterov ? d.add(bufs[i]->t, momentum) : bufs[i]->t;
      }
      p.add_(d, -lr);
    }
    return 0;
  )
}

int ct_adamw_step(ct_tensor *params, ct_tensor *exp_avg, ct_tensor *exp_avg_sq, int n,
                  int64_t step, double lr, double beta1, double beta2, double eps,
                  double weight_decay) {
  CT_STATUS(
    if (!step_inputs_valid(params, exp_avg, exp_avg_sq, n)) return -1;
    at::NoGradGuard ng;
    double bias1 = 1 - std::pow(beta1, static_cast<double>(step));
    double bias2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
    double step_size = lr / bias1;
    for (int i = 0; i < n; i++) {
      at::Tensor &p = params[i]->t;
      const at::Tensor &g = p.grad();
      if (!g.defined()) continue;
      if (exp_avg[i] == nullptr) exp_avg[i] = wrap(at::zeros_like(p, at::MemoryFormat::Preserve));
      if (exp_avg_sq[i] == nullptr) exp_avg_sq[i] = wrap(at::zeros_like(p, at::MemoryFormat::Preserve));
      p.mul_(1 - lr * weight_decay);
      exp_avg[i]->t.lerp_(g, 1 - beta1);
      exp_avg_sq[i]->t.mul_(beta2).addcmul_(g, g, 1 - beta2);
      at::Tensor denom = (exp_avg_sq[i]->t.sqrt() / bias2_sqrt).add_(eps);
      p.addcdiv_(exp_avg[i]->t, denom, -step_size);
    }
    return 0;
  )
}

}  // extern "C"

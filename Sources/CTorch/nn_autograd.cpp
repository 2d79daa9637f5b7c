// Network kernels (conv, batch norm, pooling, losses), autograd, fused optimizer updates.
#include "shim_internal.h"

#include <torch/csrc/autograd/autograd.h>
#include <cmath>

using namespace ctorch;

extern "C" {

// ---- neural-network kernels ----
ct_tensor ct_matmul(ct_tensor a, ct_tensor b) { CT_TENSOR(return wrap(at::matmul(a->t, b->t));) }
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b) {
  CT_TENSOR(return wrap(at::linear(x->t, w->t, optional(b)));)
}
ct_tensor ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor b, const int64_t *stride,
                    const int64_t *padding, const int64_t *dilation, int64_t groups) {
  CT_TENSOR(return wrap(at::conv2d(x->t, w->t, optional(b), dims(stride, 2), dims(padding, 2),
                                   dims(dilation, 2), groups));)
}
ct_tensor ct_batch_norm(ct_tensor x, ct_tensor w, ct_tensor b, ct_tensor running_mean,
                        ct_tensor running_var, bool training, double momentum, double eps) {
  CT_TENSOR(return wrap(at::batch_norm(x->t, optional(w), optional(b), optional(running_mean),
                                       optional(running_var), training, momentum, eps, false));)
}
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, ct_tensor b, double eps) {
  CT_TENSOR(return wrap(at::layer_norm(x->t, dims(shape, ndim), optional(w), optional(b), eps, false));)
}
ct_tensor ct_max_pool2d(ct_tensor x, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, const int64_t *dilation, bool ceil_mode) {
  CT_TENSOR(return wrap(at::max_pool2d(x->t, dims(kernel, 2), dims(stride, 2), dims(padding, 2),
                                       dims(dilation, 2), ceil_mode));)
}
ct_tensor ct_avg_pool2d(ct_tensor x, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, bool ceil_mode, bool count_include_pad) {
  CT_TENSOR(return wrap(at::avg_pool2d(x->t, dims(kernel, 2), dims(stride, 2), dims(padding, 2),
                                       ceil_mode, count_include_pad, c10::nullopt));)
}
ct_tensor ct_adaptive_avg_pool2d(ct_tensor x, const int64_t *output_size) {
  CT_TENSOR(return wrap(at::adaptive_avg_pool2d(x->t, dims(output_size, 2)));)
}
ct_tensor ct_softmax(ct_tensor x, int64_t dim) { CT_TENSOR(return wrap(at::softmax(x->t, dim));) }
ct_tensor ct_log_softmax(ct_tensor x, int64_t dim) { CT_TENSOR(return wrap(at::log_softmax(x->t, dim));) }
ct_tensor ct_dropout(ct_tensor x, double p, bool training, ct_generator g) {
  CT_TENSOR(
    TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
    if (!training || p == 0) return wrap(x->t);
    if (p == 1) return wrap(x->t * 0);
    if (g == nullptr) return wrap(at::dropout(x->t, p, true));
    at::Tensor keep = at::bernoulli(at::full_like(x->t, 1 - p), g->g);
    return wrap(x->t * keep / (1 - p));
  )
}
ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, int reduction, double label_smoothing) {
  CT_TENSOR(return wrap(at::cross_entropy_loss(logits->t, target->t, c10::nullopt, reduction, -100,
                                               label_smoothing));)
}

// ---- autograd ----
int ct_backward(ct_tensor t, ct_tensor grad, bool retain_graph) {
  CT_STATUS(
    at::Tensor g = grad ? grad->t : at::Tensor();
    t->t.backward(g, retain_graph);
    return 0;
  )
}
ct_tensor ct_grad(ct_tensor t) {
  CT_TENSOR(
    const at::Tensor &g = t->t.grad();
    if (!g.defined()) return nullptr;
    return wrap(g);
  )
}
int ct_zero_grad(ct_tensor t) { CT_STATUS(t->t.mutable_grad().reset(); return 0;) }

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
int ct_sgd_step(ct_tensor *params, ct_tensor *bufs, int n, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov) {
  CT_STATUS(
    at::NoGradGuard ng;
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

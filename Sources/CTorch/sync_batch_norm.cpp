// SyncBatchNorm as a libtorch autograd function: batch normalization in training mode with the
// statistics of every rank's batch together.
#include "distributed_internal.h"

using namespace ctorch;

#ifdef CTORCH_HAS_GLOO
namespace {
// BatchNorm whose statistics are those of the whole global batch: per-channel sums all-reduced
// in the forward pass, the two gradient sums all-reduced in the backward pass.
struct SyncBatchNorm : public torch::autograd::Function<SyncBatchNorm> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &input, const at::Tensor &weight,
                            const at::Tensor &bias, const at::Tensor &running_mean, const at::Tensor &running_var,
                            double momentum, double eps, int64_t group_address) {
    auto *group = reinterpret_cast<ct_group_s *>(group_address);
    auto x = input.to(at::kFloat);
    std::vector<int64_t> reduce{0};
    for (int64_t d = 2; d < x.dim(); d++) reduce.push_back(d);
    int64_t channels = x.size(1);
    double local = static_cast<double>(x.numel() / channels);
    // sums in float64: E[x²] − E[x]² in float32 loses the variance of large-mean channels
    auto wide = x.to(at::kDouble);
    auto stats = at::cat({wide.sum(reduce), (wide * wide).sum(reduce), at::full({1}, local, wide.options())});
    std::vector<at::Tensor> packed{stats};
    group->group->allreduce(packed)->wait();
    double count = packed[0][2 * channels].item<double>();
    auto mean = packed[0].narrow(0, 0, channels) / count;
    auto var = (packed[0].narrow(0, channels, channels) / count - mean * mean).clamp_min(0);
    auto invstd = (var + eps).rsqrt().to(at::kFloat);
    if (running_mean.numel() > 0 && running_var.numel() > 0) {
      at::NoGradGuard no_grad;
      running_mean.mul_(1 - momentum).add_(mean.to(running_mean.scalar_type()) * momentum);
      // PyTorch's running variance is the unbiased one
      double unbias = count > 1 ? count / (count - 1) : 1;
      running_var.mul_(1 - momentum).add_((var * unbias).to(running_var.scalar_type()) * momentum);
    }
    std::vector<int64_t> shape(x.dim(), 1);
    shape[1] = channels;
    auto xhat = (x - mean.to(at::kFloat).view(shape)) * invstd.view(shape);
    auto w = weight.numel() > 0 ? weight.to(at::kFloat) : at::ones({channels}, x.options());
    auto b = bias.numel() > 0 ? bias.to(at::kFloat) : at::zeros({channels}, x.options());
    ctx->save_for_backward({xhat, invstd, w});
    ctx->saved_data["count"] = count;
    ctx->saved_data["group"] = group_address;
    ctx->saved_data["has_weight"] = weight.numel() > 0;
    ctx->saved_data["has_bias"] = bias.numel() > 0;
    return (xhat * w.view(shape) + b.view(shape)).to(input.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto xhat = saved[0], invstd = saved[1], w = saved[2];
    auto *group = reinterpret_cast<ct_group_s *>(ctx->saved_data["group"].toInt());
    double count = ctx->saved_data["count"].toDouble();
    auto g = grads[0].to(at::kFloat);
    std::vector<int64_t> reduce{0};
    for (int64_t d = 2; d < g.dim(); d++) reduce.push_back(d);
    int64_t channels = g.size(1);
    auto local_dy = g.sum(reduce), local_dy_xhat = (g * xhat).sum(reduce);
    std::vector<at::Tensor> packed{at::cat({local_dy, local_dy_xhat}).to(at::kDouble)};
    group->group->allreduce(packed)->wait();
    auto mean_dy = (packed[0].narrow(0, 0, channels) / count).to(at::kFloat);
    auto mean_dy_xhat = (packed[0].narrow(0, channels, channels) / count).to(at::kFloat);
    std::vector<int64_t> shape(g.dim(), 1);
    shape[1] = channels;
    auto grad_input = (w * invstd).view(shape) * (g - mean_dy.view(shape) - xhat * mean_dy_xhat.view(shape));
    at::Tensor grad_weight, grad_bias;
    if (ctx->saved_data["has_weight"].toBool()) grad_weight = local_dy_xhat;
    if (ctx->saved_data["has_bias"].toBool()) grad_bias = local_dy;
    return {grad_input.to(grads[0].scalar_type()), grad_weight, grad_bias, at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }
};
}  // namespace
#endif

extern "C" {

ct_tensor ct_sync_batch_norm(ct_group g, ct_tensor x, ct_tensor w, ct_tensor b, ct_tensor running_mean,
                             ct_tensor running_var, double momentum, double eps) { CT_REQUIRE(g, nullptr) CT_REQUIRE(x, nullptr)
#ifdef CTORCH_HAS_GLOO
  CT_TENSOR({
    if (x->t.dim() < 2) throw std::invalid_argument("sync batch norm needs [N, C, …] input");
    // an absent tensor travels as an empty one (autograd functions take no undefined inputs)
    auto none = at::empty({0}, x->t.options().requires_grad(false));
    return wrap(SyncBatchNorm::apply(x->t, w ? w->t : none, b ? b->t : none, running_mean ? running_mean->t : none,
                                     running_var ? running_var->t : none, momentum, eps,
                                     reinterpret_cast<int64_t>(g)));
  })
#else
  CT_NO_GLOO(nullptr)
#endif
}

}  // extern "C"

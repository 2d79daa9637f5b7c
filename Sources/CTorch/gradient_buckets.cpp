// Gradient all-reduce overlapped with the backward pass, as DDP's reducer does it: a hook on
// every parameter notes its gradient as autograd produces it; the parameters are grouped in
// buckets (in reverse order of registration, roughly the order backward reaches them), and a
// bucket whose gradients are all in is flattened and its all-reduce launched at once — in
// bucket order, so every rank issues the same collectives in the same order. After backward,
// `finish` launches what is left (a parameter without a gradient this step counts as zeros),
// waits, redoes any bucket that received a gradient after its launch, and writes the averages
// into the parameters' `.grad`.
#include "distributed_internal.h"
#include <mutex>

using namespace ctorch;

#ifdef CTORCH_HAS_GLOO
struct ct_overlap_s {
  ct_group_s *group;
  std::vector<at::Tensor> params;
  std::vector<std::vector<size_t>> buckets;   // parameter indices, bucket 0 reduced first
  std::vector<size_t> bucket_of;
  std::vector<unsigned> hooks;                // to remove them when the overlap is freed
  std::mutex mutex;
  // this step
  std::vector<at::Tensor> incoming;           // each parameter's gradient (summed if it came twice)
  std::vector<size_t> missing;                // per bucket: parameters still without a gradient
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<bool> late;                     // a gradient arrived after the bucket's launch
  size_t launched = 0;                        // buckets launched, in order

  void reset() {
    incoming.assign(params.size(), at::Tensor());
    missing.clear();
    for (auto &b : buckets) missing.push_back(b.size());
    flats.assign(buckets.size(), at::Tensor());
    works.assign(buckets.size(), c10::intrusive_ptr<c10d::Work>());
    late.assign(buckets.size(), false);
    launched = 0;
  }

  at::Tensor flatten(size_t b) {
    std::vector<at::Tensor> parts;
    for (auto i : buckets[b]) {
      parts.push_back(incoming[i].defined() ? incoming[i].reshape({-1}) : at::zeros({params[i].numel()}, params[i].options()));
    }
    return at::cat(parts);
  }

  // launches every complete bucket that is next in order (call with the mutex held)
  void launch_ready(bool all) {
    while (launched < buckets.size() && (all || missing[launched] == 0)) {
      at::NoGradGuard no_grad;
      flats[launched] = flatten(launched);
      std::vector<at::Tensor> one{flats[launched]};
      works[launched] = group->group->allreduce(one);
      launched++;
    }
  }

  void arrived(size_t i, const at::Tensor &grad) {
    std::lock_guard<std::mutex> lock(mutex);
    size_t b = bucket_of[i];
    if (incoming[i].defined()) {
      incoming[i] = incoming[i] + grad;
      if (b < launched) late[b] = true;
      return;
    }
    incoming[i] = grad.detach();
    if (--missing[b] == 0) launch_ready(false);
  }
};
#else
struct ct_overlap_s {};
#endif

extern "C" {

ct_overlap ct_overlap_attach(ct_group g, ct_tensor *params, int n, int64_t bucket_bytes) { CT_REQUIRE(g, nullptr)
#ifdef CTORCH_HAS_GLOO
  CT_GUARD(nullptr, {
    auto overlap = std::make_unique<ct_overlap_s>();
    overlap->group = g;
    for (int i = 0; i < n; i++) {
      if (!valid(params[i]) || !params[i]->t.requires_grad()) throw std::invalid_argument("a parameter in the overlap list is null or needs no gradient");
      overlap->params.push_back(params[i]->t);
    }
    std::vector<size_t> backward_order;   // backward meets the last layers first
    for (int i = n - 1; i >= 0; i--) backward_order.push_back(static_cast<size_t>(i));
    overlap->buckets = buckets_by_size(overlap->params, backward_order, bucket_bytes);
    overlap->bucket_of.assign(n, 0);
    for (size_t b = 0; b < overlap->buckets.size(); b++) {
      for (auto i : overlap->buckets[b]) overlap->bucket_of[i] = b;
    }
    overlap->reset();
    auto *raw = overlap.get();
    for (int i = 0; i < n; i++) {
      overlap->hooks.push_back(
          overlap->params[i].register_hook([raw, i](const at::Tensor &grad) { raw->arrived(static_cast<size_t>(i), grad); }));
    }
    return overlap.release();
  })
#else
  (void)params; (void)n; (void)bucket_bytes;
  CT_NO_GLOO(nullptr)
#endif
}

int ct_overlap_finish(ct_overlap o, double divisor) { CT_REQUIRE(o, -1)
#ifdef CTORCH_HAS_GLOO
  CT_STATUS({
    std::lock_guard<std::mutex> lock(o->mutex);
    at::NoGradGuard no_grad;
    o->launch_ready(true);
    for (auto &work : o->works) work->wait();
    for (size_t b = 0; b < o->buckets.size(); b++) {
      if (!o->late[b]) continue;
      std::vector<at::Tensor> one{o->flatten(b)};
      o->group->group->allreduce(one)->wait();
      o->flats[b] = one[0];
    }
    for (size_t b = 0; b < o->buckets.size(); b++) {
      auto flat = o->flats[b];
      if (divisor != 1) flat.div_(divisor);
      int64_t offset = 0;
      for (auto i : o->buckets[b]) {
        auto &p = o->params[i];
        auto average = flat.narrow(0, offset, p.numel()).view(p.sizes());
        if (p.grad().defined()) p.mutable_grad().copy_(average); else p.mutable_grad() = average.clone();
        offset += p.numel();
      }
    }
    o->reset();
    return 0;
  })
#else
  CT_NO_GLOO(-1)
#endif
}

void ct_overlap_free(ct_overlap o) {
#ifdef CTORCH_HAS_GLOO
  if (o != nullptr) {
    for (size_t i = 0; i < o->hooks.size(); i++) o->params[i].remove_hook(o->hooks[i]);
  }
#endif
  delete o;
}

}  // extern "C"

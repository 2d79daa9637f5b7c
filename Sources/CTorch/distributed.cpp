// Data-parallel training on libtorch's own c10d: a TCPStore for the rendezvous, ProcessGroupGloo
// for the collectives (ring all-reduce, broadcast, all-gather, barrier) and a heartbeat watchdog
// that names a lost rank. SyncBatchNorm is in sync_batch_norm.cpp, the all-reduce overlapped
// with backward in gradient_buckets.cpp. Gloo's headers come from Debian's libgloo-dev
// (scripts/setup); its code is the copy inside libtorch_cpu.
#include "distributed_internal.h"
#include <c10/util/Logging.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

using namespace ctorch;

#ifdef CTORCH_HAS_GLOO
struct ct_watchdog_s {
  std::atomic<bool> stop{false};
  std::thread thread;
};

namespace {
std::chrono::milliseconds ms(int64_t v) { return std::chrono::milliseconds(v); }

std::string alive_key(int rank) { return "lacoot/alive/" + std::to_string(rank); }

/// Writes one line to stderr and ends the process (the other ranks' collectives fail with it).
[[noreturn]] void lost(const std::string &line) {
  std::string text = line + "\n";
  ssize_t ignored = write(2, text.data(), text.size());
  (void)ignored;
  _exit(1);
}

// A TCPStore on host:port: the server (rank 0, expecting `world` ranks) or a client.
c10::intrusive_ptr<c10d::TCPStore> tcp_store(const char *host, int port, bool is_server, int world, int64_t timeout_ms) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(port);
  options.isServer = is_server;
  options.numWorkers = is_server ? std::optional<size_t>(world) : std::nullopt;
  options.waitWorkers = false;
  options.timeout = ms(timeout_ms);
  return c10::make_intrusive<c10d::TCPStore>(std::string(host), options);
}

// Sums `tensors` over the ranks, flattened into buckets of at most `bucket_bytes` (one
// all-reduce each, all in flight at once), then divides by `divisor`.
void allreduce_buckets(c10d::Backend &group, std::vector<at::Tensor> &tensors, int64_t bucket_bytes,
                       double divisor) {
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  auto buckets = buckets_by_size(tensors, order, bucket_bytes);
  std::vector<std::vector<at::Tensor>> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto &bucket : buckets) {
    std::vector<at::Tensor> parts;
    for (auto i : bucket) parts.push_back(tensors[i].reshape({-1}));
    flats.push_back({at::cat(parts)});
    works.push_back(group.allreduce(flats.back()));
  }
  for (size_t b = 0; b < buckets.size(); b++) {
    works[b]->wait();
    auto &flat = flats[b][0];
    if (divisor != 1) flat.div_(divisor);
    int64_t offset = 0;
    for (auto i : buckets[b]) {
      auto n = tensors[i].numel();
      tensors[i].copy_(flat.narrow(0, offset, n).view(tensors[i].sizes()));
      offset += n;
    }
  }
}

}  // namespace
#else
struct ct_store_s {};
struct ct_group_s {};
struct ct_watchdog_s {};
#endif

extern "C" {

bool ct_distributed_available(void) {
#ifdef CTORCH_HAS_GLOO
  return true;
#else
  return false;
#endif
}

ct_store ct_store_open(const char *host, int port, bool is_server, int world, int64_t timeout_ms) {
#ifdef CTORCH_HAS_GLOO
  CT_GUARD(nullptr, {
    if (host == nullptr) throw std::invalid_argument("null host");
    // c10d logs every dropped connection as a warning with a backtrace; the ranks report a
    // lost peer in one line of their own (the watchdog), so only errors are logged
    FLAGS_caffe2_log_level = std::max(FLAGS_caffe2_log_level, 2);
    auto store = tcp_store(host, port, is_server, world, timeout_ms);
    return new ct_store_s{store, host, static_cast<int>(store->getPort())};
  })
#else
  CT_NO_GLOO(nullptr)
#endif
}

void ct_store_free(ct_store s) { delete s; }

int ct_store_port(ct_store s) { CT_REQUIRE(s, -1)
#ifdef CTORCH_HAS_GLOO
  return s->port;
#else
  CT_NO_GLOO(-1)
#endif
}

int64_t ct_store_add(ct_store s, const char *key, int64_t delta) { CT_REQUIRE(s, INT64_MIN)
#ifdef CTORCH_HAS_GLOO
  CT_GUARD(INT64_MIN, { return s->store->add(key, delta); })
#else
  CT_NO_GLOO(INT64_MIN)
#endif
}

ct_group ct_group_gloo(ct_store s, int rank, int world, int64_t timeout_ms, const char *device_host) { CT_REQUIRE(s, nullptr)
#ifdef CTORCH_HAS_GLOO
  CT_GUARD(nullptr, {
    auto options = c10d::ProcessGroupGloo::Options::create(ms(timeout_ms));
    options->threads = 2;
    if (device_host != nullptr && device_host[0] != 0) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(device_host));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(s->store, rank, world, options);
    return new ct_group_s{group, rank, world};
  })
#else
  CT_NO_GLOO(nullptr)
#endif
}

ct_group ct_group_nccl(ct_store s, int rank, int world, int64_t timeout_ms) { CT_REQUIRE(s, nullptr)
#ifdef CTORCH_HAS_NCCL
  CT_GUARD(nullptr, {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = ms(timeout_ms);
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(s->store, rank, world, options);
    return new ct_group_s{group, rank, world};
  })
#else
  (void)rank; (void)world; (void)timeout_ms;
  set_error("this libtorch has no NCCL (a CPU build, or nccl.h not found when the shim was built): use Gloo");
  return nullptr;
#endif
}

void ct_group_free(ct_group g) { delete g; }

int ct_group_allreduce(ct_group g, ct_tensor *tensors, int n, int64_t bucket_bytes, double divisor) { CT_REQUIRE(g, -1)
#ifdef CTORCH_HAS_GLOO
  CT_STATUS({
    std::vector<at::Tensor> list;
    for (int i = 0; i < n; i++) {
      if (!valid(tensors[i])) throw std::invalid_argument("null tensor in the all-reduce list");
      list.push_back(tensors[i]->t);
    }
    at::NoGradGuard no_grad;
    if (!list.empty()) allreduce_buckets(*g->group, list, bucket_bytes, divisor);
    return 0;
  })
#else
  CT_NO_GLOO(-1)
#endif
}

int ct_group_broadcast(ct_group g, ct_tensor *tensors, int n, int root) { CT_REQUIRE(g, -1)
#ifdef CTORCH_HAS_GLOO
  CT_STATUS({
    at::NoGradGuard no_grad;
    for (int i = 0; i < n; i++) {
      if (!valid(tensors[i])) throw std::invalid_argument("null tensor in the broadcast list");
      // through a contiguous copy: gloo sends dense buffers
      std::vector<at::Tensor> one{tensors[i]->t.contiguous()};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      g->group->broadcast(one, options)->wait();
      if (!one[0].is_same(tensors[i]->t)) tensors[i]->t.copy_(one[0]);
    }
    return 0;
  })
#else
  CT_NO_GLOO(-1)
#endif
}

ct_tensor ct_group_allgather(ct_group g, ct_tensor t) { CT_REQUIRE(g, nullptr) CT_REQUIRE(t, nullptr)
#ifdef CTORCH_HAS_GLOO
  CT_TENSOR({
    at::NoGradGuard no_grad;
    auto local = t->t.detach().contiguous();
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < g->world; r++) outputs[0].push_back(at::empty_like(local));
    std::vector<at::Tensor> inputs{local};
    g->group->allgather(outputs, inputs)->wait();
    return wrap(at::cat(outputs[0], 0));
  })
#else
  CT_NO_GLOO(nullptr)
#endif
}

int ct_group_barrier(ct_group g) { CT_REQUIRE(g, -1)
#ifdef CTORCH_HAS_GLOO
  CT_STATUS({
    g->group->barrier()->wait();
    return 0;
  })
#else
  CT_NO_GLOO(-1)
#endif
}

ct_watchdog ct_watchdog_start(const char *host, int port, int rank, int world, int64_t interval_ms, int64_t stale_ms) {
#ifdef CTORCH_HAS_GLOO
  CT_GUARD(nullptr, {
    if (host == nullptr) throw std::invalid_argument("null host");
    // its own connection: the heartbeat never waits behind the training thread's store calls
    auto store = tcp_store(host, port, false, world, stale_ms);
    auto dog = new ct_watchdog_s();
    std::string where = std::string(host) + ":" + std::to_string(port);
    dog->thread = std::thread([dog, store, rank, world, interval_ms, stale_ms, where] {
      std::vector<int64_t> seen(world, -1);
      std::vector<std::chrono::steady_clock::time_point> changed(world, std::chrono::steady_clock::now());
      while (!dog->stop.load()) {
        try {
          store->add(alive_key(rank), 1);
          auto now = std::chrono::steady_clock::now();
          for (int r = 0; r < world; r++) {
            if (r == rank) continue;
            int64_t beats = store->add(alive_key(r), 0);
            if (beats != seen[r]) {
              seen[r] = beats;
              changed[r] = now;
            } else if (now - changed[r] > ms(stale_ms)) {
              lost("error: rank " + std::to_string(r) + " of " + std::to_string(world) + " was lost (no heartbeat for " +
                   std::to_string(stale_ms / 1000) + " s); rank " + std::to_string(rank) + " stops");
            }
          }
        } catch (const std::exception &) {
          if (dog->stop.load()) break;
          lost("error: rank 0 of " + std::to_string(world) + " was lost (its rendezvous store at " + where +
               " stopped answering); rank " + std::to_string(rank) + " stops");
        }
        for (int64_t waited = 0; waited < interval_ms && !dog->stop.load(); waited += 50) {
          std::this_thread::sleep_for(ms(std::min<int64_t>(50, interval_ms - waited)));
        }
      }
    });
    return dog;
  })
#else
  CT_NO_GLOO(nullptr)
#endif
}

void ct_watchdog_stop(ct_watchdog w) {
  if (w == nullptr) return;
#ifdef CTORCH_HAS_GLOO
  w->stop.store(true);
  if (w->thread.joinable()) w->thread.join();
#endif
  delete w;
}

}  // extern "C"

// Internal helpers shared by the shim's translation units (C++ only).
#pragma once
#if defined(CTORCH_NO_LIBTORCH)
#pragma message("libtorch expected in " CTORCH_NO_LIBTORCH)
#error "libtorch not found: run scripts/setup (it installs PyTorch's CPU wheel and links its torch/ folder as .libtorch), or set LIBTORCH=/path/to/libtorch (a folder with include/ and lib/)"
#include <ctorch_stops_here_libtorch_not_found>
#elif defined(CTORCH_BAD_LIBTORCH)
#pragma message("LIBTORCH is " CTORCH_BAD_LIBTORCH)
#error "LIBTORCH has no include/ATen/ATen.h: point LIBTORCH at a libtorch folder (include/ and lib/, e.g. a PyTorch wheel's torch/ folder), or unset it to use the one scripts/setup installs"
#include <ctorch_stops_here_libtorch_not_found>
#endif
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <atomic>
#include <string>
#include <vector>
#include "ctorch.h"

struct ct_tensor_s { at::Tensor t; };
struct ct_generator_s { at::Generator g; };

namespace ctorch {
void set_error(const std::string &message);
// libtorch keeps the intra-op thread count per OS thread (OpenMP) and starts with half the
// cores; every entry point applies the process-wide count to the calling thread first.
extern std::atomic<int> wanted_threads;
void apply_threads_slow();
extern thread_local int applied_threads;
inline void apply_threads() {
  if (applied_threads != wanted_threads.load(std::memory_order_relaxed)) apply_threads_slow();
}

inline ct_tensor wrap(at::Tensor t) { return new ct_tensor_s{std::move(t)}; }
inline at::IntArrayRef dims(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
inline c10::optional<at::Tensor> optional(ct_tensor t) {
  if (t == nullptr) return c10::nullopt;
  return t->t;
}
inline c10::optional<at::Generator> generator(ct_generator g) {
  if (g == nullptr) return c10::nullopt;
  return g->g;
}
inline at::ScalarType scalar_type(int dtype) { return static_cast<at::ScalarType>(dtype); }
inline at::TensorOptions options(int dtype) { return at::TensorOptions().dtype(scalar_type(dtype)); }
}  // namespace ctorch

// Every entry point's body runs inside one of these: a C++ exception becomes an error value.
// The thread's error is cleared first, so that an entry that answers "none" (a null handle) or
// NaN without failing never leaves an earlier call's error to be read as its own.
#define CT_GUARD(failure, ...)                                  \
  try {                                                          \
    ct_clear_error();                                            \
    ctorch::apply_threads();                                     \
    __VA_ARGS__                                                  \
  } catch (const c10::Error &e) {                                \
    ctorch::set_error(e.what_without_backtrace());               \
  } catch (const std::exception &e) {                            \
    ctorch::set_error(e.what());                                 \
  } catch (...) {                                                \
    ctorch::set_error("unknown C++ exception in libtorch");      \
  }                                                              \
  return failure;

// A handle argument that must be there: a null (or undefined-tensor) handle sets the error and
// returns the entry's failure value instead of dereferencing it. Optional arguments (a missing
// bias, generator or mask) are not checked this way.
namespace ctorch {
inline bool valid(ct_tensor t) { return t != nullptr && t->t.defined(); }
inline bool valid(const void *handle) { return handle != nullptr; }
inline bool reject_handle(const char *function, const char *argument) {
  set_error(std::string(function) + ": the " + argument + " handle is null or empty");
  return false;
}
}  // namespace ctorch
#define CT_REQUIRE(handle, failure) \
  if (!ctorch::valid(handle)) { ctorch::reject_handle(__func__, #handle); return failure; }

#define CT_TENSOR(...) CT_GUARD(nullptr, __VA_ARGS__)
#define CT_STATUS(...) CT_GUARD(-1, __VA_ARGS__)

/* ctorch.h — a plain C surface over libtorch's ATen + autograd.
 *
 * Every entry point catches C++ exceptions. On failure a function returns NULL (handles),
 * -1 (status codes) or NaN (scalars) and the message is kept in a thread-local buffer that
 * `ct_last_error()` returns. Handles are opaque; each `ct_tensor` returned must be released
 * with `ct_free` exactly once.
 */
#ifndef CTORCH_H
#define CTORCH_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;
typedef struct ct_generator_s *ct_generator;

/* Scalar types, numbered as c10::ScalarType. */
enum {
  CT_UINT8 = 0, CT_INT8 = 1, CT_INT16 = 2, CT_INT32 = 3, CT_INT64 = 4,
  CT_FLOAT16 = 5, CT_FLOAT32 = 6, CT_FLOAT64 = 7, CT_BOOL = 11, CT_BFLOAT16 = 15
};

/* ---- errors, library ---- */
const char *ct_last_error(void);
void ct_clear_error(void);
const char *ct_version(void);      /* e.g. "2.13.0" */
const char *ct_config(void);       /* at::show_config() */
bool ct_has_mkldnn(void);
bool ct_has_openmp(void);
int ct_get_num_threads(void);
int ct_set_num_threads(int n);   /* process-wide; applied to each thread on its next call */
int ct_active_cores(void);        /* CPUs this process may run on */
void ct_manual_seed(uint64_t seed);

/* ---- the caching CPU allocator (caching_allocator.cpp) ---- */
typedef struct {
  int64_t hits;          /* allocations served from the cache */
  int64_t misses;        /* cacheable allocations that found no block */
  int64_t cached_bytes;  /* bytes idle in the cache now */
  int64_t limit_bytes;   /* the most it keeps idle */
} ct_allocator_stats;
/* false when the caching allocator is not libtorch's CPU allocator (LACOOT_CACHING_ALLOCATOR=0). */
bool ct_allocator_statistics(ct_allocator_stats *out);
/* Releases every idle block. */
void ct_allocator_empty_cache(void);
bool ct_set_grad_enabled(bool enabled); /* returns the previous mode */
bool ct_is_grad_enabled(void);

/* ---- mixed precision (autocast, per thread, as torch.autocast) ---- */
/* device_type: CT_DEVICE_*; dtype: CT_BFLOAT16 or CT_FLOAT16. Enabling increments the nesting;
 * disabling decrements it and clears the cast cache when the outermost scope ends. Returns the
 * previous enabled state, or -1 on error. */
int ct_autocast_set(int device_type, bool enabled, int dtype);
bool ct_autocast_enabled(int device_type);
bool ct_cpu_has_native_bf16(void);  /* avx512_bf16 or amx_bf16 in /proc/cpuinfo */

/* ---- profiler (libtorch's own, the one torch.profiler drives) ---- */
int ct_profiler_start(void);
/* Stops it and returns its CPU op events, one per line: "name\tthread\tstart_ns\tend_ns\n"
 * (NULL on error); release the text with ct_free_string. */
char *ct_profiler_stop(void);
void ct_free_string(char *text);

/* ---- devices ---- */
enum { CT_DEVICE_CPU = 0, CT_DEVICE_CUDA = 1 };  /* as c10::DeviceType */
bool ct_cuda_is_available(void);
int ct_cuda_device_count(void);
int ct_device_of(ct_tensor t, int *index);   /* device type; *index = device index (-1: none) */
ct_tensor ct_to_device(ct_tensor t, int device_type, int index, bool non_blocking);

/* ---- lifetime, metadata ---- */
void ct_free(ct_tensor t);
ct_tensor ct_shallow_copy(ct_tensor t);        /* a second handle to the same tensor */
int ct_dim(ct_tensor t);
int ct_sizes(ct_tensor t, int64_t *out, int cap);
int ct_strides(ct_tensor t, int64_t *out, int cap);
int64_t ct_numel(ct_tensor t);
int ct_dtype(ct_tensor t);
bool ct_requires_grad(ct_tensor t);
int ct_set_requires_grad(ct_tensor t, bool on);
bool ct_is_contiguous(ct_tensor t, int memory_format); /* 0 contiguous, 1 channels-last */
bool ct_defined(ct_tensor t);

/* ---- creation ---- */
ct_tensor ct_empty(const int64_t *shape, int ndim, int dtype);
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype);
ct_tensor ct_arange(double start, double end, double step, int dtype);
ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype); /* copies */
int ct_copy_data(ct_tensor t, void *out, size_t nbytes); /* copies a contiguous view out */
void *ct_data_ptr(ct_tensor t);                          /* NULL unless contiguous */
double ct_item(ct_tensor t);

/* ---- random (generator may be NULL: the global one) ---- */
ct_generator ct_generator_new(uint64_t seed);
void ct_generator_free(ct_generator g);
ct_tensor ct_generator_get_state(ct_generator g);
int ct_generator_set_state(ct_generator g, ct_tensor state);
ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, ct_generator g);
ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, ct_generator g);
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, ct_generator g);
ct_tensor ct_randperm(int64_t n, ct_generator g);
int ct_uniform_(ct_tensor t, double from, double to, ct_generator g);
int ct_normal_(ct_tensor t, double mean, double std, ct_generator g);
ct_tensor ct_bernoulli(ct_tensor probabilities, ct_generator g);

/* ---- conversion, shape ---- */
ct_tensor ct_to_dtype(ct_tensor t, int dtype);
ct_tensor ct_contiguous(ct_tensor t, int memory_format);
ct_tensor ct_reshape(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_permute(ct_tensor t, const int64_t *dims, int ndim);
ct_tensor ct_transpose(ct_tensor t, int64_t d0, int64_t d1);
ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end);
ct_tensor ct_expand(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim);
ct_tensor ct_squeeze(ct_tensor t, int64_t dim);
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t length);
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index);
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_pad(ct_tensor t, const int64_t *pad, int npad, double value);
ct_tensor ct_roll(ct_tensor t, const int64_t *shifts, const int64_t *dims, int n);
ct_tensor ct_flip(ct_tensor t, const int64_t *dims, int n);
ct_tensor ct_clone(ct_tensor t);
ct_tensor ct_detach(ct_tensor t);
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b);

/* ---- elementwise ---- */
enum {
  CT_U_NEG, CT_U_ABS, CT_U_SQRT, CT_U_EXP, CT_U_LOG, CT_U_RELU, CT_U_RELU6, CT_U_GELU,
  CT_U_GELU_TANH, CT_U_SIGMOID, CT_U_TANH, CT_U_SQUARE, CT_U_RSQRT, CT_U_SIGN, CT_U_ISFINITE,
  CT_U_LOGICAL_NOT, CT_U_FLOOR, CT_U_CEIL, CT_U_ROUND, CT_U_ERFINV
};
ct_tensor ct_unary(int op, ct_tensor t);
/* CT_U_RELU or CT_U_RELU6 written into t itself, recorded by autograd (PyTorch's relu_ /
   hardtanh_); returns a new handle on the same tensor. */
ct_tensor ct_activation_inplace(int op, ct_tensor t);
enum {
  CT_B_ADD, CT_B_SUB, CT_B_MUL, CT_B_DIV, CT_B_POW, CT_B_MAXIMUM, CT_B_MINIMUM,
  CT_B_EQ, CT_B_NE, CT_B_LT, CT_B_LE, CT_B_GT, CT_B_GE, CT_B_MATMUL, CT_B_REMAINDER
};
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b);
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s); /* a (op) s */
ct_tensor ct_clamp(ct_tensor t, double lo, double hi, bool has_lo, bool has_hi);

/* ---- in place (for optimizers and initializers; no autograd tracking wanted) ---- */
enum { CT_I_ADD, CT_I_SUB, CT_I_MUL, CT_I_DIV, CT_I_COPY };
int ct_inplace(int op, ct_tensor self, ct_tensor other, double alpha); /* add_/sub_: other*alpha */
int ct_inplace_scalar(int op, ct_tensor self, double s);               /* CT_I_COPY = fill_ */
int ct_addcmul_(ct_tensor self, ct_tensor a, ct_tensor b, double value);
int ct_addcdiv_(ct_tensor self, ct_tensor a, ct_tensor b, double value);
int ct_zero_(ct_tensor t);

/* ---- reductions ---- */
enum { CT_R_SUM, CT_R_MEAN, CT_R_AMAX, CT_R_AMIN, CT_R_PROD, CT_R_VAR, CT_R_STD };
/* ndims == 0 reduces over all elements */
ct_tensor ct_reduce(int op, ct_tensor t, const int64_t *dims, int ndims, bool keepdim);
int ct_max_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices);
int ct_min_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices);
ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim);
ct_tensor ct_norm(ct_tensor t, double p, const int64_t *dims, int ndims, bool keepdim);
int ct_sort(ct_tensor t, int64_t dim, bool descending, ct_tensor *values, ct_tensor *indices);
int ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, ct_tensor *values, ct_tensor *indices);
/* For [N, K] a and b (CPU, float or double, no graph): [K] with
   mean_i |sort(a[:, k])_i - sort(b[:, k])_i|^p (sliced_costs.cpp). */
ct_tensor ct_sliced_costs(ct_tensor a, ct_tensor b, double p);

/* ---- neural-network kernels ---- */
ct_tensor ct_matmul(ct_tensor a, ct_tensor b);
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b /* nullable */);
ct_tensor ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor b /* nullable */, const int64_t *stride,
                    const int64_t *padding, const int64_t *dilation, int64_t groups);
ct_tensor ct_batch_norm(ct_tensor x, ct_tensor w, ct_tensor b, ct_tensor running_mean,
                        ct_tensor running_var, bool training, double momentum, double eps);
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, ct_tensor b,
                        double eps);
ct_tensor ct_max_pool2d(ct_tensor x, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, const int64_t *dilation, bool ceil_mode);
ct_tensor ct_avg_pool2d(ct_tensor x, const int64_t *kernel, const int64_t *stride,
                        const int64_t *padding, bool ceil_mode, bool count_include_pad);
ct_tensor ct_adaptive_avg_pool2d(ct_tensor x, const int64_t *output_size);
ct_tensor ct_softmax(ct_tensor x, int64_t dim);
ct_tensor ct_log_softmax(ct_tensor x, int64_t dim);
ct_tensor ct_dropout(ct_tensor x, double p, bool training, ct_generator g);
/* softmax(q kᵀ / √E + mask) v over the last two dimensions (q [..., L, E], k [..., S, E],
 * v [..., S, Ev] → [..., L, Ev]), as torch.nn.functional.scaled_dot_product_attention with
 * is_causal false and the default scale. attn_mask (nullable) broadcasts to [..., L, S]: bool
 * (true = may attend) or floating (added to the scores). Dropout on the attention weights
 * (dropout_p > 0) draws from libtorch's global generator. */
ct_tensor ct_scaled_dot_product_attention(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor attn_mask,
                                          double dropout_p);
/* reduction: 0 none, 1 mean, 2 sum */
ct_tensor ct_cross_entropy(ct_tensor logits, ct_tensor target, int reduction, double label_smoothing);

/* ---- autograd ---- */
int ct_backward(ct_tensor t, ct_tensor grad /* nullable */, bool retain_graph);
ct_tensor ct_grad(ct_tensor t);           /* NULL without error when there is no gradient */
int ct_zero_grad(ct_tensor t);            /* sets the gradient to none */
/* d(outputs)/d(inputs) with given output gradients; results[i] NULL where unused */
int ct_autograd_grad(const ct_tensor *outputs, const ct_tensor *grad_outputs, int nout,
                     const ct_tensor *inputs, int nin, ct_tensor *results, bool create_graph);

/* ---- fused optimizer updates over a list of parameters (gradients read from .grad) ---- */
/* momentum buffers: bufs[i] may be NULL on the first step; it is then created and returned. */
int ct_sgd_step(ct_tensor *params, ct_tensor *bufs, int n, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov);
int ct_adamw_step(ct_tensor *params, ct_tensor *exp_avg, ct_tensor *exp_avg_sq, int n,
                  int64_t step, double lr, double beta1, double beta2, double eps,
                  double weight_decay);

/* ---- PyTorch zip archives (torch.save): records read by libtorch's reader ---- */
typedef struct ct_archive_s *ct_archive;
ct_archive ct_archive_open(const char *path);           /* NULL + error: missing, not a zip, … */
void ct_archive_free(ct_archive a);
/* The record names joined by '\n' into buffer when capacity exceeds their length; returns
 * that length (call with NULL first). */
int64_t ct_archive_names(ct_archive a, char *buffer, int64_t capacity);
/* A record's size in bytes; -1 when missing or larger than the file. */
int64_t ct_archive_record_size(ct_archive a, const char *name);
/* Copies a record into destination (capacity ≥ its size); returns the bytes read or -1. */
int64_t ct_archive_read(ct_archive a, const char *name, void *destination, int64_t capacity);
/* A contiguous copy of as_strided(t, size, stride, offset); the caller checks the bounds. */
ct_tensor ct_as_strided_copy(ct_tensor t, const int64_t *size, const int64_t *stride, int ndim, int64_t offset);

/* ---- data-parallel training (c10d: TCPStore + ProcessGroupGloo) ---- */
typedef struct ct_store_s *ct_store;
typedef struct ct_group_s *ct_group;
typedef struct ct_watchdog_s *ct_watchdog;
bool ct_distributed_available(void);   /* false when the shim was built without Gloo's headers */
/* The rendezvous store: the server (rank 0) listens on port; the others connect to host:port. */
ct_store ct_store_open(const char *host, int port, bool is_server, int world, int64_t timeout_ms);
void ct_store_free(ct_store s);
int ct_store_port(ct_store s);   /* the port served or connected to (the kernel's choice for port 0) */
int64_t ct_store_add(ct_store s, const char *key, int64_t delta);   /* INT64_MIN on error */
/* A Gloo process group over the store; device_host: this rank's address (NULL/"" = hostname). */
ct_group ct_group_gloo(ct_store s, int rank, int world, int64_t timeout_ms, const char *device_host);
/* An NCCL process group (CUDA tensors); NULL + error without a CUDA libtorch and nccl.h. */
ct_group ct_group_nccl(ct_store s, int rank, int world, int64_t timeout_ms);
void ct_group_free(ct_group g);
/* Sums the tensors over the ranks in place, flattened into buckets of ≤ bucket_bytes (all in
 * flight at once), then divides them by divisor. */
int ct_group_allreduce(ct_group g, ct_tensor *tensors, int n, int64_t bucket_bytes, double divisor);
int ct_group_broadcast(ct_group g, ct_tensor *tensors, int n, int root);
/* The gradient all-reduce overlapped with backward: hooks on params (in forward order) launch
 * each bucket of ≤ bucket_bytes as soon as its gradients exist; ct_overlap_finish, after
 * backward, waits and writes each gradient's sum ÷ divisor into .grad. */
typedef struct ct_overlap_s *ct_overlap;
ct_overlap ct_overlap_attach(ct_group g, ct_tensor *params, int n, int64_t bucket_bytes);
int ct_overlap_finish(ct_overlap o, double divisor);
void ct_overlap_free(ct_overlap o);
/* Every rank's t concatenated along dimension 0, in rank order (no gradient). */
ct_tensor ct_group_allgather(ct_group g, ct_tensor t);
int ct_group_barrier(ct_group g);
/* Batch norm in training mode with the statistics of the global batch (differentiable). */
ct_tensor ct_sync_batch_norm(ct_group g, ct_tensor x, ct_tensor w, ct_tensor b, ct_tensor running_mean,
                             ct_tensor running_var, double momentum, double eps);
/* A thread that increments this rank's heartbeat every interval_ms and ends the process with one
 * line on stderr (exit 1) when a peer's heartbeat stalls for stale_ms or the store is gone. */
ct_watchdog ct_watchdog_start(const char *host, int port, int rank, int world, int64_t interval_ms, int64_t stale_ms);
void ct_watchdog_stop(ct_watchdog w);

#ifdef __cplusplus
}
#endif
#endif

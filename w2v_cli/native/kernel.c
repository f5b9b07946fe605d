/* The compiled kernels of w2v: skip-gram and CBOW updates with negative sampling
 * or hierarchical softmax (train_impl.h; the vocabulary scanner is scan.c, in
 * the same library). C99 with GCC vector extensions, no Python API in the hot
 * code; Python loads this library with ctypes (`w2v_cli/native/__init__.py`),
 * which releases the GIL for every call, so jobs on several threads run in parallel.
 *
 * Same model as the numpy engine (`engines/numpy_math.py`): each context word's input
 * vector scores the center word's output vector and K negatives drawn once per
 * center (word2vec.c's skip-gram with pWord2Vec's window-shared negatives).
 * Sequential SGD: all of a center's scores are taken from the current
 * parameters, then its updates are applied, so one center's step is exactly
 * the update `w2v gradcheck` checks (its kernel-* checks). With several workers
 * the caller can have the rows nearly every center writes (the most frequent
 * words, the top of the Huffman tree) trained in a private copy per job
 * (Rows in train_impl.h), added to the shared matrix when the job ends.
 *
 * Left out: everything that is not a hot loop (batching, schedules, file I/O);
 * an AVX-512 copy (the x86-64 build carries AVX2 and baseline ones).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bumped whenever a signature below changes; the loader refuses a mismatch. */
#define W2V_ABI 10

/* x86-64 builds carry an AVX2+FMA copy of the hot functions, picked at load
 * time, next to the baseline one; other platforms get the baseline only. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__)
#define HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT
#endif

/* The helpers must inline into the HOT functions to get their AVX2 copy. */
#if defined(__GNUC__)
#define INLINE static inline __attribute__((always_inline))
#else
#define INLINE static inline
#endif

#define MAX_CONTEXT 128 /* 2 x the largest window (64) */
#define MAX_CODE 40     /* the deepest Huffman path (losses.MAX_CODE, word2vec.c's MAX_CODE_LENGTH) */

int64_t w2v_abi(void) { return W2V_ABI; }

/* xorshift64*: advances *state, returns a uniform double in [0, 1). */
static inline double next_uniform(uint64_t *state) {
    uint64_t s = *state;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    *state = s;
    return (double)((s * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

/* A word from the noise distribution by its alias table (prob, alias) of size V. */
static inline int64_t draw(const double *prob, const int64_t *alias, int64_t V, double u) {
    double x = u * (double)V;
    int64_t i = (int64_t)x;
    if (i > V - 1) i = V - 1;
    return (x - (double)i < prob[i]) ? i : alias[i];
}

/* Context words of center i into ctx; returns how many. */
static inline int64_t window(const int32_t *tokens, const int32_t *sentence, const int32_t *radius, int64_t n,
                             int64_t i, int64_t *ctx) {
    int64_t r = radius[i] < MAX_CONTEXT / 2 ? radius[i] : MAX_CONTEXT / 2, m = 0;
    int64_t lo = i - r < 0 ? 0 : i - r, hi = i + r + 1 > n ? n : i + r + 1;
    for (int64_t j = lo; j < hi; j++)
        if (j != i && sentence[j] == sentence[i]) ctx[m++] = tokens[j];
    return m;
}

/* The output rows of center i: out[0] its word, out[1..K] its negatives, given
 * (negatives (n, K)) or drawn from the alias table with the generator *state. */
static inline void outputs(const int32_t *tokens, int64_t i, const int32_t *negatives, int64_t K, const double *prob,
                           const int64_t *alias, int64_t V, uint64_t *state, int64_t *out) {
    out[0] = tokens[i];
    for (int64_t k = 0; k < K; k++)
        out[k + 1] = negatives ? negatives[i * K + k] : draw(prob, alias, V, next_uniform(state));
}

/* A center to train: its position i, its m context words and its output words
 * (the center's own word, then its negatives). */
typedef struct {
    int64_t i, m;
    int64_t ctx[MAX_CONTEXT], out[MAX_CONTEXT];
} Center;

/* The first position j >= from with centers[j] set and a non-empty window, its
 * window into c (c->i = j); c->i = n when there is none. Returns c->i. */
static inline int64_t next_center(const int32_t *tokens, const int32_t *sentence, const int32_t *radius,
                                  const uint8_t *centers, int64_t n, int64_t from, Center *c) {
    for (c->i = from; c->i < n; c->i++)
        if (centers[c->i] && (c->m = window(tokens, sentence, radius, n, c->i, c->ctx)) > 0) break;
    return c->i;
}

/* Asks for the row_bytes at row to be brought into the cache for writing. */
static inline void prefetch_row(const void *row, int64_t row_bytes) {
    for (int64_t off = 0; off < row_bytes; off += 64) __builtin_prefetch((const char *)row + off, 1, 3);
}

/* A job's positions and noise, for the negative-sampling kernels: where their
 * centers come from (tokens, sentence, radius, centers, n), and their output
 * words (given negatives (n, K), or drawn from the alias table with *state). */
typedef struct {
    const int32_t *tokens, *sentence, *radius, *negatives;
    const uint8_t *centers;
    const double *prob;
    const int64_t *alias;
    int64_t n, V, K;
    uint64_t state;
} Walk;

/* The first center of the walk into c, with its outputs drawn. */
static inline void walk_start(Walk *w, Center *c) {
    if (next_center(w->tokens, w->sentence, w->radius, w->centers, w->n, 0, c) < w->n)
        outputs(w->tokens, c->i, w->negatives, w->K, w->prob, w->alias, w->V, &w->state, c->out);
}

/* The center after cur into nxt, its outputs drawn (in the order the centers
 * train). Returns 0 when there is none (nxt->i = n). */
static inline int walk_next(Walk *w, const Center *cur, Center *nxt) {
    if (next_center(w->tokens, w->sentence, w->radius, w->centers, w->n, cur->i + 1, nxt) == w->n) return 0;
    outputs(w->tokens, nxt->i, w->negatives, w->K, w->prob, w->alias, w->V, &w->state, nxt->out);
    return 1;
}

/* The learning rate at position i of n, moving linearly from lr0 to lr1. */
static inline double lr_at(double lr0, double lr1, int64_t i, int64_t n) {
    return lr0 + (lr1 - lr0) * ((double)i / (double)n);
}

/* e^x in float for loops the compiler vectorises (glibc's expf is a call).
 * Cephes' expf: x = n ln2 + r with |r| <= ln2/2, a degree-7 polynomial in r.
 * Within 1.3 float epsilons of the exact e^x over the whole range (expf: 1.0).
 * x is clamped to [-87, 88], where the result is a normal float; a NaN stays
 * NaN (the comparisons are false), so divergence still shows. */
static inline float exp_f32(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = fmaf(n, 2.12194440e-4f, fmaf(-n, 0.693359375f, x)); /* x - n ln2, ln2 in two parts; fmaf keeps */
                                                                  /* the reassociating flags from merging them */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23; /* 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* log(1 + e^x) in float for loops the compiler vectorises: the loss of a score.
 * max(x, 0) + log1p(y), y = e^-|x| (exp_f32), log1p(y) = 2 atanh(t) with
 * t = y / (2 + y) <= 1/3, by its series to t^15 (truncation below 1e-8 of the
 * result). Within 2.5e-7 of libm's log1p(exp(x)) for x in [-80, 100]. */
static inline float softplus_f32(float x) {
    float y = exp_f32(x < 0.0f ? x : -x), t = y / (2.0f + y), t2 = t * t;
    float p = 1.0f / 15.0f;
    p = p * t2 + 1.0f / 13.0f;
    p = p * t2 + 1.0f / 11.0f;
    p = p * t2 + 1.0f / 9.0f;
    p = p * t2 + 1.0f / 7.0f;
    p = p * t2 + 1.0f / 5.0f;
    p = p * t2 + 1.0f / 3.0f;
    p = p * t2 + 1.0f;
    return (x > 0.0f ? x : 0.0f) + 2.0f * t * p;
}

/* log(1 + e^x) in double, with libm. */
static inline double softplus_f64(double x) { return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x))); }

/* Subsampling and sentence numbers of one segment, in one pass (the numpy reference is
 * sampling.split_sentences(sampling.subsample(...))): word ids with -1 at sentence ends,
 * one uniform u[i] per position, keep (V,) probabilities. A word is kept where
 * u[i] < keep[id], with the number of ends before it as its sentence. Returns the words kept.
 * Example: segment [5, 6, -1, 7, -1], u all 0, keep all 1 -> tokens [5, 6, 7], sentence [0, 0, 1]. */
int64_t w2v_keep_and_split(const int32_t *segment, const double *u, int64_t n, const double *keep, int32_t *tokens,
                           int32_t *sentence) {
    int64_t k = 0;
    int32_t s = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t w = segment[i];
        if (w < 0) {
            s++;
            continue;
        }
        tokens[k] = w; /* written always, counted only if kept: no branch on the draw */
        sentence[k] = s;
        k += u[i] < keep[w];
    }
    return k;
}

/* The index just past the last sentence end (-1) of ids (n,), or 0 if it holds none.
 * Example: [5, -1, 7, 8] -> 2. */
int64_t w2v_end_cut(const int32_t *ids, int64_t n) {
    int64_t i = n;
    while (i > 0 && ids[i - 1] != -1) i--;
    return i;
}

/* The final ids of provisional ids raw (n,) with -1 at sentence ends (the numpy
 * reference is vocab.map_ids' fallback): mapping (V,) gives each provisional id's final
 * id, or -2 for a word left out of the vocabulary, which is dropped. Writes the
 * ids kept, ends included, to out (n,) and returns how many.
 * Example: raw [3, -1, 0, 2, -1], mapping [7, -2, -2, 5] -> out [5, -1, 7, -1], 4. */
int64_t w2v_map_ids(const int32_t *raw, int64_t n, const int32_t *mapping, int32_t *out) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t w = raw[i] < 0 ? raw[i] : mapping[raw[i]];
        out[k] = w; /* written always, counted only if kept: no branch on the word */
        k += w != -2;
    }
    return k;
}

#define real float
#define SUFFIX(name) name##_f32
#define EXPV exp_f32
#define SOFTPLUS softplus_f32
#define LANES 8
#include "train_impl.h"
#undef LANES
#undef real
#undef SUFFIX
#undef EXPV
#undef SOFTPLUS

#define real double
#define SUFFIX(name) name##_f64
#define EXPV exp
#define SOFTPLUS softplus_f64
#define LANES 4
#include "train_impl.h"
#undef LANES
#undef real
#undef SUFFIX
#undef EXPV
#undef SOFTPLUS

/* An importable (empty) module, so the library builds and installs as a
 * regular extension on every platform; Python calls it through ctypes. */
static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "w2v_kernel",
    .m_doc = "w2v's compiled kernels, called through ctypes (see w2v_cli/native/__init__.py)",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit_w2v_kernel(void) { return PyModule_Create(&module); }

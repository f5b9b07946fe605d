/* The skip-gram and CBOW update kernels, written once for the floating type `real`.
 * kernel.c includes this file twice: real = float (training) and real = double
 * (gradcheck compares one step with the float64 reference gradients). Each
 * name is suffixed by SUFFIX; EXPV is the (vectorisable) exp of that type,
 * SOFTPLUS its log(1 + e^x), LANES the reals in a 32-byte vector.
 */
/* The row primitives. Rows are d reals, reached through arrays of row pointers.
 * The blocked ones work in VL-wide vectors (GCC vector extensions, so they do
 * not depend on the vectoriser), keeping accumulators in registers so that a
 * row is loaded once per block instead of once per pair; a scalar tail covers
 * d % VL. A destination row is never one of its source rows. */
#define VL ((int64_t)(32 / sizeof(real)))
typedef real SUFFIX(vec) __attribute__((vector_size(32), aligned(sizeof(real))));

INLINE SUFFIX(vec) SUFFIX(load)(const real *p) { return *(const SUFFIX(vec) *)p; }
INLINE void SUFFIX(store)(real *p, SUFFIX(vec) v) { *(SUFFIX(vec) *)p = v; }

INLINE real SUFFIX(hsum)(SUFFIX(vec) v) {
    real s = (real)0;
    for (int64_t k = 0; k < VL; k++) s += v[k];
    return s;
}

/* Half vectors (16 bytes) take a remainder of d % VL >= VL / 2 in one step:
 * d = 100 and 300 floats leave 4. */
#define HL (VL / 2)
typedef real SUFFIX(half) __attribute__((vector_size(16), aligned(sizeof(real))));

INLINE SUFFIX(half) SUFFIX(hload)(const real *p) { return *(const SUFFIX(half) *)p; }
INLINE void SUFFIX(hstore)(real *p, SUFFIX(half) v) { *(SUFFIX(half) *)p = v; }

/* a . b over d entries. */
INLINE real SUFFIX(dot)(const real *restrict a, const real *restrict b, int64_t d) {
    real z = (real)0;
    for (int64_t e = 0; e < d; e++) z += a[e] * b[e];
    return z;
}

/* y += alpha x over d entries. */
INLINE void SUFFIX(axpy)(real *restrict y, real alpha, const real *restrict x, int64_t d) {
    for (int64_t e = 0; e < d; e++) y[e] += alpha * x[e];
}

#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define HAVE_SHUFFLE 1
#endif
#endif

#if HAVE_SHUFFLE && LANES == 8
#define EVEN8 0, 2, 8, 10, 4, 6, 12, 14
#define ODD8 1, 3, 9, 11, 5, 7, 13, 15
/* z[j] = the sum of a_j's lanes, j < 4, by two rounds of pairwise adds across the
 * four vectors (6 shuffles, 4 adds) instead of a reduction of each. */
INLINE void SUFFIX(sum4)(SUFFIX(vec) a0, SUFFIX(vec) a1, SUFFIX(vec) a2, SUFFIX(vec) a3, real *z) {
    SUFFIX(vec) s01 = __builtin_shufflevector(a0, a1, EVEN8) + __builtin_shufflevector(a0, a1, ODD8);
    SUFFIX(vec) s23 = __builtin_shufflevector(a2, a3, EVEN8) + __builtin_shufflevector(a2, a3, ODD8);
    SUFFIX(vec) s = __builtin_shufflevector(s01, s23, EVEN8) + __builtin_shufflevector(s01, s23, ODD8);
    SUFFIX(half) r = __builtin_shufflevector(s, s, 0, 1, 2, 3) + __builtin_shufflevector(s, s, 4, 5, 6, 7);
    for (int64_t j = 0; j < 4; j++) z[j] = r[j];
}

/* A half vector as a full one, its upper lanes 0. */
INLINE SUFFIX(vec) SUFFIX(widen)(SUFFIX(half) h) {
    return __builtin_shufflevector(h, (SUFFIX(half)){0}, 0, 1, 2, 3, 4, 5, 6, 7);
}
#elif HAVE_SHUFFLE && LANES == 4
INLINE void SUFFIX(sum4)(SUFFIX(vec) a0, SUFFIX(vec) a1, SUFFIX(vec) a2, SUFFIX(vec) a3, real *z) {
    SUFFIX(vec) s01 = __builtin_shufflevector(a0, a1, 0, 4, 2, 6) + __builtin_shufflevector(a0, a1, 1, 5, 3, 7);
    SUFFIX(vec) s23 = __builtin_shufflevector(a2, a3, 0, 4, 2, 6) + __builtin_shufflevector(a2, a3, 1, 5, 3, 7);
    SUFFIX(vec) s = __builtin_shufflevector(s01, s23, 0, 1, 4, 5) + __builtin_shufflevector(s01, s23, 2, 3, 6, 7);
    for (int64_t j = 0; j < 4; j++) z[j] = s[j];
}

INLINE SUFFIX(vec) SUFFIX(widen)(SUFFIX(half) h) { return __builtin_shufflevector(h, (SUFFIX(half)){0}, 0, 1, 2, 3); }
#else
INLINE void SUFFIX(sum4)(SUFFIX(vec) a0, SUFFIX(vec) a1, SUFFIX(vec) a2, SUFFIX(vec) a3, real *z) {
    z[0] = SUFFIX(hsum)(a0), z[1] = SUFFIX(hsum)(a1), z[2] = SUFFIX(hsum)(a2), z[3] = SUFFIX(hsum)(a3);
}

INLINE SUFFIX(vec) SUFFIX(widen)(SUFFIX(half) h) {
    SUFFIX(vec) v = {0};
    for (int64_t k = 0; k < HL; k++) v[k] = h[k];
    return v;
}
#endif

/* z[0..3] = x . ys[0..3]: four rows against x in one pass; a half-vector
 * remainder joins the accumulators before the one reduction (SUFFIX(sum4)). */
INLINE void SUFFIX(dot4)(const real *x, const real *const *ys, int64_t d, real *z) {
    SUFFIX(vec) a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int64_t e = 0;
    for (; e + VL <= d; e += VL) {
        SUFFIX(vec) xv = SUFFIX(load)(x + e);
        a0 += xv * SUFFIX(load)(ys[0] + e);
        a1 += xv * SUFFIX(load)(ys[1] + e);
        a2 += xv * SUFFIX(load)(ys[2] + e);
        a3 += xv * SUFFIX(load)(ys[3] + e);
    }
    if (e + HL <= d) {
        SUFFIX(half) xv = SUFFIX(hload)(x + e);
        a0 += SUFFIX(widen)(xv * SUFFIX(hload)(ys[0] + e)), a1 += SUFFIX(widen)(xv * SUFFIX(hload)(ys[1] + e));
        a2 += SUFFIX(widen)(xv * SUFFIX(hload)(ys[2] + e)), a3 += SUFFIX(widen)(xv * SUFFIX(hload)(ys[3] + e));
        e += HL;
    }
    SUFFIX(sum4)(a0, a1, a2, a3, z);
    for (; e < d; e++)
        for (int64_t j = 0; j < 4; j++) z[j] += x[e] * ys[j][e];
}

/* z[j] = x . ys[j] for j < n. Example: x = (1, 2), ys = ((3, 4), (0, 1)) -> z = (11, 2). */
INLINE void SUFFIX(rows_dot)(const real *x, const real *const *ys, int64_t n, int64_t d, real *z) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) SUFFIX(dot4)(x, ys + j, d, z + j);
    for (; j < n; j++) z[j] = SUFFIX(dot)(x, ys[j], d);
}

/* y += c[0] xs[0] + c[1] xs[1] + c[2] xs[2] + c[3] xs[3]: four rows in one pass over y. */
INLINE void SUFFIX(axpy4)(real *y, const real *c, const real *const *xs, int64_t d) {
    SUFFIX(vec) c0 = c[0] + (SUFFIX(vec)){0}, c1 = c[1] + (SUFFIX(vec)){0};
    SUFFIX(vec) c2 = c[2] + (SUFFIX(vec)){0}, c3 = c[3] + (SUFFIX(vec)){0};
    int64_t e = 0;
    for (; e + VL <= d; e += VL) {
        SUFFIX(vec) acc = SUFFIX(load)(y + e) + c0 * SUFFIX(load)(xs[0] + e) + c1 * SUFFIX(load)(xs[1] + e);
        SUFFIX(store)(y + e, acc + c2 * SUFFIX(load)(xs[2] + e) + c3 * SUFFIX(load)(xs[3] + e));
    }
    if (e + HL <= d) {
        SUFFIX(half) acc = SUFFIX(hload)(y + e) + c[0] * SUFFIX(hload)(xs[0] + e) + c[1] * SUFFIX(hload)(xs[1] + e);
        SUFFIX(hstore)(y + e, acc + c[2] * SUFFIX(hload)(xs[2] + e) + c[3] * SUFFIX(hload)(xs[3] + e));
        e += HL;
    }
    for (; e < d; e++) y[e] += c[0] * xs[0][e] + c[1] * xs[1][e] + c[2] * xs[2][e] + c[3] * xs[3][e];
}

/* y += scale * sum_j alpha[j * stride] xs[j], j < n. Example: y = (0, 0), scale 1,
 * alpha = (2, 1), xs = ((1, 0), (0, 3)) -> y = (2, 3). */
INLINE void SUFFIX(rows_axpy)(real *y, real scale, const real *alpha, int64_t stride, const real *const *xs,
                              int64_t n, int64_t d) {
    real c[MAX_CONTEXT];
    for (int64_t j = 0; j < n; j++) c[j] = scale * alpha[j * stride];
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) SUFFIX(axpy4)(y, c + j, xs + j, d);
    for (; j < n; j++) SUFFIX(axpy)(y, c[j], xs[j], d);
}

/* Whether the n rows ys are n different rows. */
INLINE int SUFFIX(distinct)(real *const *ys, int64_t n) {
    for (int64_t b = 1; b < n; b++)
        for (int64_t c = 0; c < b; c++)
            if (ys[b] == ys[c]) return 0;
    return 1;
}

/* The tiles of rows_gemm: outs[j][e..] += sum_k ct[k R + j] ins[k][e..], j < R,
 * over NV full vectors (tile_v) or one half vector (tile_h) from entry e. The
 * R x NV accumulators stay in registers; each input row is loaded once. */
INLINE void SUFFIX(tile_v)(real *const *outs, int64_t R, const real *ct, const real *const *ins, int64_t n_in,
                           int64_t e, int64_t NV) {
    SUFFIX(vec) acc[4][2] = {{{0}}};
    for (int64_t k = 0; k < n_in; k++) {
        const real *x = ins[k] + e;
        SUFFIX(vec) x0 = SUFFIX(load)(x), x1 = NV > 1 ? SUFFIX(load)(x + VL) : x0;
        for (int64_t j = 0; j < R; j++) {
            acc[j][0] += ct[k * R + j] * x0;
            if (NV > 1) acc[j][1] += ct[k * R + j] * x1;
        }
    }
    for (int64_t j = 0; j < R; j++) {
        SUFFIX(store)(outs[j] + e, SUFFIX(load)(outs[j] + e) + acc[j][0]);
        if (NV > 1) SUFFIX(store)(outs[j] + e + VL, SUFFIX(load)(outs[j] + e + VL) + acc[j][1]);
    }
}

INLINE void SUFFIX(tile_h)(real *const *outs, int64_t R, const real *ct, const real *const *ins, int64_t n_in,
                           int64_t e) {
    SUFFIX(half) acc[4] = {{0}};
    for (int64_t k = 0; k < n_in; k++) {
        SUFFIX(half) x0 = SUFFIX(hload)(ins[k] + e);
        for (int64_t j = 0; j < R; j++) acc[j] += ct[k * R + j] * x0;
    }
    for (int64_t j = 0; j < R; j++) SUFFIX(hstore)(outs[j] + e, SUFFIX(hload)(outs[j] + e) + acc[j]);
}

/* R output rows across all d entries: tiles of 2 vectors, then 1, a half, scalars. */
INLINE void SUFFIX(tile_row)(real *const *outs, int64_t R, const real *ct, const real *const *ins, int64_t n_in,
                             int64_t d) {
    int64_t e = 0;
    for (; e + 2 * VL <= d; e += 2 * VL) SUFFIX(tile_v)(outs, R, ct, ins, n_in, e, 2);
    if (e + VL <= d) SUFFIX(tile_v)(outs, R, ct, ins, n_in, e, 1), e += VL;
    if (e + HL <= d) SUFFIX(tile_h)(outs, R, ct, ins, n_in, e), e += HL;
    for (; e < d; e++)
        for (int64_t j = 0; j < R; j++) {
            real s = (real)0;
            for (int64_t k = 0; k < n_in; k++) s += ct[k * R + j] * ins[k][e];
            outs[j][e] += s;
        }
}

/* outs[i] += scale * sum_k coef[i * cs + k * ks] ins[k] for i < n_out, k < n_in
 * (n_in <= MAX_CONTEXT): a small matrix product, in tiles of 4 output rows. The
 * output rows are distinct and none is an input row. Example: outs = ((0, 0)),
 * scale 1, coef = (2, 1), ins = ((1, 0), (0, 3)) -> outs = ((2, 3)). */
INLINE void SUFFIX(rows_gemm)(real *const *outs, int64_t n_out, real scale, const real *coef, int64_t cs, int64_t ks,
                              const real *const *ins, int64_t n_in, int64_t d) {
    real ct[4 * MAX_CONTEXT];
    for (int64_t i0 = 0; i0 < n_out; i0 += 4) {
        int64_t R = n_out - i0 < 4 ? n_out - i0 : 4;
        for (int64_t k = 0; k < n_in; k++)
            for (int64_t j = 0; j < R; j++) ct[k * R + j] = scale * coef[(i0 + j) * cs + k * ks];
        if (R == 4) SUFFIX(tile_row)(outs + i0, 4, ct, ins, n_in, d);
        else if (R == 3) SUFFIX(tile_row)(outs + i0, 3, ct, ins, n_in, d);
        else if (R == 2) SUFFIX(tile_row)(outs + i0, 2, ct, ins, n_in, d);
        else SUFFIX(tile_row)(outs + i0, 1, ct, ins, n_in, d);
    }
}

/* A matrix M (rows of d reals) whose rows lo .. lo + n - 1 train in a private
 * copy while a job runs: threads sharing M then do not write its hottest rows
 * (the most frequent words, the top of the Huffman tree) at every step; their
 * change is added to M when the job ends. n = 0: every row in place. */
typedef struct {
    real *M, *copy, *start; /* the matrix; the private rows (n, d) and their values at the start */
    int64_t lo, n, d;
} SUFFIX(Rows);

/* R over M with rows [lo, lo + n) private, copied from M. Returns 0 when the
 * copy could not be allocated. Example: lo 0, n 2 -> rows 0 and 1 private. */
INLINE int SUFFIX(rows_open)(SUFFIX(Rows) *R, real *M, int64_t lo, int64_t n, int64_t d) {
    *R = (SUFFIX(Rows)){M, NULL, NULL, lo, n, d};
    if (n == 0) return 1;
    if (!(R->copy = malloc(sizeof(real) * 2 * n * d))) return 0;
    R->start = R->copy + n * d;
    memcpy(R->copy, M + lo * d, sizeof(real) * n * d);
    memcpy(R->start, R->copy, sizeof(real) * n * d);
    return 1;
}

/* Adds the private rows' change since rows_open to M (when add) and frees the copy. */
INLINE void SUFFIX(rows_close)(SUFFIX(Rows) *R, int add) {
    real *M = R->M + R->lo * R->d;
    if (add)
        for (int64_t j = 0; j < R->n * R->d; j++) M[j] += R->copy[j] - R->start[j];
    free(R->copy);
}

/* The row of word (or node) i: in the private copy or in M. A select, not a
 * branch: the ids come in random order. */
INLINE real *SUFFIX(row_at)(const SUFFIX(Rows) *R, int64_t i) {
    int mine = (uint64_t)(i - R->lo) < (uint64_t)R->n;
    real *base = mine ? R->copy : R->M;
    return base + (mine ? i - R->lo : i) * R->d;
}

/* rows[j] = the row of idx[j] for j < n. */
INLINE void SUFFIX(row_ptrs)(const SUFFIX(Rows) *R, const int64_t *idx, int64_t n, real **rows) {
    for (int64_t j = 0; j < n; j++) rows[j] = SUFFIX(row_at)(R, idx[j]);
}

/* Asks for the rows of idx[j] (j < n) to be brought into the cache for
 * writing: the kernels do it for the next center while they train this one. */
INLINE void SUFFIX(prefetch)(const SUFFIX(Rows) *R, const int64_t *idx, int64_t n) {
    for (int64_t j = 0; j < n; j++) prefetch_row(SUFFIX(row_at)(R, idx[j]), R->d * (int64_t)sizeof(real));
}

/* The loss of n / period rows of period scores f: sum of -log s(f) where
 * positive[j], else -log s(-f), i.e. softplus(-f) or softplus(f) (SOFTPLUS,
 * which vectorises in the float build). */
INLINE double SUFFIX(score_losses)(const real *f, int64_t n, const uint8_t *positive, int64_t period) {
    real loss = (real)0;
    for (int64_t a = 0; a + period <= n; a += period)
        for (int64_t j = 0; j < period; j++) loss += SOFTPLUS(positive[j] ? -f[a + j] : f[a + j]);
    return (double)loss;
}

/* f[i] = s(f[i]) for i < n, in place: a loop of its own so that it vectorises (EXPV). */
INLINE void SUFFIX(sigmoids)(real *restrict f, int64_t n) {
    for (int64_t i = 0; i < n; i++) f[i] = (real)1 / ((real)1 + EXPV(-f[i]));
}

/* g[a*K1 + b] = dJ/dz for input row xs[a] and output row ys[b] (b = 0: the
 * center, label 1), a < m. Returns the loss when with_loss, else 0 (the loss
 * costs a log per score). */
INLINE double SUFFIX(scores)(const real *const *xs, int64_t m, const real *const *ys, int64_t K1, int64_t d,
                                    real *g, int with_loss) {
    double loss = 0.0;
    for (int64_t a = 0; a < m; a++) SUFFIX(rows_dot)(xs[a], ys, K1, d, g + a * K1);
    if (with_loss) {
        uint8_t positive[MAX_CONTEXT] = {1}; /* the center's own word */
        loss = SUFFIX(score_losses)(g, m * K1, positive, K1);
    }
    SUFFIX(sigmoids)(g, m * K1);
    for (int64_t a = 0; a < m; a++) g[a * K1] -= (real)1;
    return loss;
}

/* The step of m input rows xs against n output rows ys, given g (m rows of n,
 * row stride gs) = dJ/dz for every score z_ab = xs[a] . ys[b], all from the
 * snapshot: dx_a = sum_b g_ab ys[b] (into the scratch dx (m, d)), then
 * ys[b] -= lr sum_a g_ab xs[a] (xs still the snapshot), then xs[a] -= lr dx_a. */
INLINE void SUFFIX(pairs_step)(real **xs, int64_t m, real **ys, int64_t n, const real *g, int64_t gs, real *dx,
                               int64_t d, real lr) {
    memset(dx, 0, sizeof(real) * m * d);
    for (int64_t a = 0; a < m; a++) SUFFIX(rows_axpy)(dx + a * d, (real)1, g + a * gs, 1, (const real *const *)ys, n, d);
    for (int64_t b = 0; b < n; b++) SUFFIX(rows_axpy)(ys[b], -lr, g + b, gs, (const real *const *)xs, m, d);
    for (int64_t a = 0; a < m; a++) SUFFIX(axpy)(xs[a], -lr, dx + a * d, d);
}

/* pairs_step by rows_gemm: the same step when the n output rows ys are distinct. */
INLINE void SUFFIX(pairs_step_gemm)(real **xs, int64_t m, real **ys, int64_t n, const real *g, int64_t gs, real *dx,
                                    int64_t d, real lr) {
    real *dxs[MAX_CONTEXT];
    memset(dx, 0, sizeof(real) * m * d);
    for (int64_t a = 0; a < m; a++) dxs[a] = dx + a * d;
    SUFFIX(rows_gemm)(dxs, m, (real)1, g, gs, 1, (const real *const *)ys, n, d);
    SUFFIX(rows_gemm)(ys, n, -lr, g, 1, gs, (const real *const *)xs, m, d);
    for (int64_t a = 0; a < m; a++) SUFFIX(axpy)(xs[a], -lr, dx + a * d, d);
}

/* One skip-gram negative-sampling step: every score from the snapshot, then
 * gW = G C[out] (into the scratch gW (m, d)), C[out_b] -= lr sum_a g_ab W[ctx_a]
 * (W still the snapshot) and W[ctx_a] -= lr gW_a. g (m, K1) is scratch. */
INLINE double SUFFIX(sg_step)(const SUFFIX(Rows) *W, const SUFFIX(Rows) *C, const int64_t *ctx, int64_t m,
                              const int64_t *out, int64_t K1, real *g, real *gW, real lr, int with_loss) {
    real *xs[MAX_CONTEXT], *ys[MAX_CONTEXT + 1];
    int64_t d = W->d;
    SUFFIX(row_ptrs)(W, ctx, m, xs);
    SUFFIX(row_ptrs)(C, out, K1, ys);
    double loss = SUFFIX(scores)((const real *const *)xs, m, (const real *const *)ys, K1, d, g, with_loss);
    if (SUFFIX(distinct)((real *const *)ys, K1)) SUFFIX(pairs_step_gemm)(xs, m, ys, K1, g, K1, gW, d, lr);
    else SUFFIX(pairs_step)(xs, m, ys, K1, g, K1, gW, d, lr);
    return loss;
}

/* W and C as Rows, the n_hot most frequent words' rows (ids 0 .. n_hot - 1)
 * private in both. Returns 0 when a copy could not be allocated. */
INLINE int SUFFIX(open_pair)(SUFFIX(Rows) *Wr, SUFFIX(Rows) *Cr, real *W, real *C, int64_t n_hot, int64_t d) {
    int ok_W = SUFFIX(rows_open)(Wr, W, 0, n_hot, d), ok_C = SUFFIX(rows_open)(Cr, C, 0, n_hot, d);
    return ok_W && ok_C;
}

/* The center after cur into nxt (walk_next) with its rows of W and C prefetched. */
INLINE void SUFFIX(walk_prefetch)(Walk *walk, const Center *cur, Center *nxt, const SUFFIX(Rows) *W,
                                  const SUFFIX(Rows) *C) {
    if (walk_next(walk, cur, nxt)) {
        SUFFIX(prefetch)(C, nxt->out, walk->K + 1);
        SUFFIX(prefetch)(W, nxt->ctx, nxt->m);
    }
}

/* Skip-gram negative-sampling updates for every center position, in order.
 *
 * W, C (V, d) of type real; tokens, sentence, radius (n,) int32; centers (n,) uint8;
 * negatives (n, K) int32, or NULL to draw them here from the alias table
 * (prob, alias) with xorshift64* seeded by `seed`. lr moves linearly from lr0
 * to lr1 over the positions. The loss is measured on every loss_every-th
 * center (and on the first center with pairs). The n_hot most frequent words'
 * rows of W and C train in private copies whose change is added at the end
 * (SUFFIX(Rows); 0: all in place). K + 1 <= MAX_CONTEXT. Returns every pair
 * trained, -1 if scratch memory could not be allocated (or K is too large);
 * *loss and *measured get the loss of the measured centers and their pairs. */
HOT int64_t SUFFIX(w2v_train_positions)(real *W, real *C, int64_t d, const int32_t *tokens, const int32_t *sentence,
                                const int32_t *radius, const uint8_t *centers, int64_t n, const int32_t *negatives,
                                const double *prob, const int64_t *alias, int64_t V, int64_t K, int64_t n_hot,
                                double lr0, double lr1, uint64_t seed, int64_t loss_every, double *loss,
                                int64_t *measured) {
    int64_t K1 = K + 1, pairs = 0;
    real *g = malloc(sizeof(real) * MAX_CONTEXT * K1);
    real *gW = malloc(sizeof(real) * MAX_CONTEXT * d);
    Center both[2], *cur = &both[0], *nxt = &both[1], *swap;
    Walk walk = {tokens, sentence, radius, negatives, centers, prob, alias, n, V, K, seed | 1ULL};
    SUFFIX(Rows) Wr, Cr;
    /* Local sums, written to *loss and *measured once at the end: those may share */
    /* a cache line with another thread's. */
    double total = 0.0;
    int64_t seen = 0;
    if (!SUFFIX(open_pair)(&Wr, &Cr, W, C, n_hot, d) || !g || !gW || K1 > MAX_CONTEXT) pairs = -1;
    walk_start(&walk, cur);
    while (pairs >= 0 && cur->i < n) {
        SUFFIX(walk_prefetch)(&walk, cur, nxt, &Wr, &Cr);
        int with_loss = cur->i % loss_every == 0 || seen == 0;
        real lr = (real)lr_at(lr0, lr1, cur->i, n);
        total += SUFFIX(sg_step)(&Wr, &Cr, cur->ctx, cur->m, cur->out, K1, g, gW, lr, with_loss);
        if (with_loss) seen += cur->m;
        pairs += cur->m;
        swap = cur, cur = nxt, nxt = swap;
    }
    SUFFIX(rows_close)(&Wr, pairs >= 0);
    SUFFIX(rows_close)(&Cr, pairs >= 0);
    *loss = total;
    *measured = seen;
    free(g);
    free(gW);
    return pairs;
}

/* The CBOW row loops below go across d in blocks of NV <= 4 full vectors (each
 * row's pointer and coefficient read once per block, the block's accumulators in
 * registers), then a half vector, then scalars. */

/* h[e..] = inv * sum_a xs[a][e..] for one block of NV vectors. */
INLINE void SUFFIX(mean_block)(const real *const *xs, int64_t m, real inv, real *h, int64_t e, int64_t NV) {
    SUFFIX(vec) acc[4] = {{0}};
    for (int64_t a = 0; a < m; a++)
        for (int64_t i = 0; i < NV; i++) acc[i] += SUFFIX(load)(xs[a] + e + i * VL);
    for (int64_t i = 0; i < NV; i++) SUFFIX(store)(h + e + i * VL, inv * acc[i]);
}

/* h (d,) = the mean of the m rows xs. Example: xs = ((1, 2), (3, 6)) -> h = (2, 4). */
INLINE void SUFFIX(mean_rows)(const real *const *xs, int64_t m, int64_t d, real *h) {
    real inv = (real)1 / (real)m;
    int64_t e = 0;
    for (; e + 4 * VL <= d; e += 4 * VL) SUFFIX(mean_block)(xs, m, inv, h, e, 4);
    for (; e + VL <= d; e += VL) SUFFIX(mean_block)(xs, m, inv, h, e, 1);
    if (e + HL <= d) {
        SUFFIX(half) acc = {0};
        for (int64_t a = 0; a < m; a++) acc += SUFFIX(hload)(xs[a] + e);
        SUFFIX(hstore)(h + e, inv * acc), e += HL;
    }
    for (; e < d; e++) {
        real acc = (real)0;
        for (int64_t a = 0; a < m; a++) acc += xs[a][e];
        h[e] = inv * acc;
    }
}

/* xs[a][e..] += c v[e..] for every a, one block of NV vectors. */
INLINE void SUFFIX(add_block)(real *const *xs, int64_t m, real c, const real *v, int64_t e, int64_t NV) {
    SUFFIX(vec) cv[4];
    for (int64_t i = 0; i < NV; i++) cv[i] = c * SUFFIX(load)(v + e + i * VL);
    for (int64_t a = 0; a < m; a++)
        for (int64_t i = 0; i < NV; i++) {
            real *p = xs[a] + e + i * VL;
            SUFFIX(store)(p, SUFFIX(load)(p) + cv[i]);
        }
}

/* xs[a] += c v for a < m; a row listed twice gets both steps. Example:
 * xs = (x, x), x = (1, 1), c = 2, v = (1, 0) -> x = (5, 1). */
INLINE void SUFFIX(rows_add)(real *const *xs, int64_t m, real c, const real *v, int64_t d) {
    int64_t e = 0;
    for (; e + 4 * VL <= d; e += 4 * VL) SUFFIX(add_block)(xs, m, c, v, e, 4);
    for (; e + VL <= d; e += VL) SUFFIX(add_block)(xs, m, c, v, e, 1);
    if (e + HL <= d) {
        SUFFIX(half) cv = c * SUFFIX(hload)(v + e);
        for (int64_t a = 0; a < m; a++) SUFFIX(hstore)(xs[a] + e, SUFFIX(hload)(xs[a] + e) + cv);
        e += HL;
    }
    for (; e < d; e++)
        for (int64_t a = 0; a < m; a++) xs[a][e] += c * v[e];
}

/* gh[e..] = sum_b g[b] ys[b][e..], then ys[b][e..] += cg[b] h[e..]: one block of NV vectors. */
INLINE void SUFFIX(out_block)(real *const *ys, int64_t n, const real *g, const real *cg, const real *h, real *gh,
                              int64_t e, int64_t NV) {
    SUFFIX(vec) hv[4], acc[4] = {{0}};
    for (int64_t i = 0; i < NV; i++) hv[i] = SUFFIX(load)(h + e + i * VL);
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < NV; i++) {
            real *p = ys[b] + e + i * VL;
            SUFFIX(vec) t = SUFFIX(load)(p);
            acc[i] += g[b] * t;
            SUFFIX(store)(p, t + cg[b] * hv[i]);
        }
    for (int64_t i = 0; i < NV; i++) SUFFIX(store)(gh + e + i * VL, acc[i]);
}

/* The output side of a CBOW step in one pass over each row: gh = sum_b g[b] ys[b]
 * (the rows before the step), then ys[b] -= lr g[b] h. The n rows are distinct.
 * Example: ys = ((1, 0)), g = (2), h = (0, 1), lr 1 -> gh = (2, 0), ys = ((1, -2)). */
INLINE void SUFFIX(out_step)(real *const *ys, int64_t n, const real *g, const real *h, real *gh, int64_t d,
                             real lr) {
    real cg[MAX_CONTEXT];
    for (int64_t b = 0; b < n; b++) cg[b] = -lr * g[b];
    int64_t e = 0;
    for (; e + 4 * VL <= d; e += 4 * VL) SUFFIX(out_block)(ys, n, g, cg, h, gh, e, 4);
    for (; e + VL <= d; e += VL) SUFFIX(out_block)(ys, n, g, cg, h, gh, e, 1);
    if (e + HL <= d) {
        SUFFIX(half) hv = SUFFIX(hload)(h + e), acc = {0};
        for (int64_t b = 0; b < n; b++) {
            SUFFIX(half) t = SUFFIX(hload)(ys[b] + e);
            acc += g[b] * t;
            SUFFIX(hstore)(ys[b] + e, t + cg[b] * hv);
        }
        SUFFIX(hstore)(gh + e, acc), e += HL;
    }
    for (; e < d; e++) {
        real acc = (real)0;
        for (int64_t b = 0; b < n; b++) acc += g[b] * ys[b][e], ys[b][e] += cg[b] * h[e];
        gh[e] = acc;
    }
}

/* One CBOW step for the m context rows ctx and the K1 output rows out: h = the
 * mean of W[ctx]; g = dJ/dz of each score z = C[out_b].h; then C[out_b] -= lr g_b h
 * and each context occurrence W[o_j] -= lr * step * dJ/dh, dJ/dh = sum_b g_b C[out_b]
 * (from the parameters before the step), step 1/m if mean_step else 1. h, gh (d,)
 * and g (K1,) are scratch. Returns the loss when with_loss, else 0. */
INLINE double SUFFIX(cbow_step)(const SUFFIX(Rows) *W, const SUFFIX(Rows) *C, const int64_t *ctx, int64_t m,
                                const int64_t *out, int64_t K1, real *g, real *h, real *gh, real lr, int64_t mean_step,
                                int with_loss) {
    real *xs[MAX_CONTEXT], *ys[MAX_CONTEXT + 1];
    int64_t d = W->d;
    SUFFIX(row_ptrs)(W, ctx, m, xs);
    SUFFIX(row_ptrs)(C, out, K1, ys);
    SUFFIX(mean_rows)((const real *const *)xs, m, d, h);
    const real *hs[1] = {h}; /* h: the one input row */
    double loss = SUFFIX(scores)(hs, 1, (const real *const *)ys, K1, d, g, with_loss);
    if (SUFFIX(distinct)(ys, K1)) SUFFIX(out_step)(ys, K1, g, h, gh, d, lr);
    else {
        memset(gh, 0, sizeof(real) * d);
        SUFFIX(rows_axpy)(gh, (real)1, g, 1, (const real *const *)ys, K1, d);
        for (int64_t b = 0; b < K1; b++) SUFFIX(axpy)(ys[b], -lr * g[b], h, d);
    }
    SUFFIX(rows_add)(xs, m, mean_step ? -lr / (real)m : -lr, gh, d);
    return loss;
}

/* CBOW negative-sampling updates for every center position, in order: each
 * center's context mean predicts it against K negatives (SUFFIX(cbow_step));
 * `mean_step` 0 is word2vec.c's update (every context row steps by the full
 * dJ/dh), 1 the exact gradient of the mean. Arguments and return as
 * w2v_train_positions, but a center is one prediction: the count returned and
 * *measured are predictions. */
HOT int64_t SUFFIX(w2v_train_cbow)(real *W, real *C, int64_t d, const int32_t *tokens, const int32_t *sentence,
                           const int32_t *radius, const uint8_t *centers, int64_t n, const int32_t *negatives,
                           const double *prob, const int64_t *alias, int64_t V, int64_t K, int64_t n_hot, double lr0,
                           double lr1, uint64_t seed, int64_t loss_every, int64_t mean_step, double *loss,
                           int64_t *measured) {
    int64_t K1 = K + 1, predictions = 0;
    real *g = malloc(sizeof(real) * K1), *h = malloc(sizeof(real) * d), *gh = malloc(sizeof(real) * d);
    Center both[2], *cur = &both[0], *nxt = &both[1], *swap;
    Walk walk = {tokens, sentence, radius, negatives, centers, prob, alias, n, V, K, seed | 1ULL};
    SUFFIX(Rows) Wr, Cr;
    /* Local sums, written to *loss and *measured once at the end: those may share */
    /* a cache line with another thread's. */
    double total = 0.0;
    int64_t seen = 0;
    if (!SUFFIX(open_pair)(&Wr, &Cr, W, C, n_hot, d) || !g || !h || !gh || K1 > MAX_CONTEXT) predictions = -1;
    walk_start(&walk, cur);
    while (predictions >= 0 && cur->i < n) {
        SUFFIX(walk_prefetch)(&walk, cur, nxt, &Wr, &Cr);
        int with_loss = cur->i % loss_every == 0 || seen == 0;
        real lr = (real)lr_at(lr0, lr1, cur->i, n);
        total += SUFFIX(cbow_step)(&Wr, &Cr, cur->ctx, cur->m, cur->out, K1, g, h, gh, lr, mean_step, with_loss);
        if (with_loss) seen += 1;
        predictions++;
        swap = cur, cur = nxt, nxt = swap;
    }
    SUFFIX(rows_close)(&Wr, predictions >= 0);
    SUFFIX(rows_close)(&Cr, predictions >= 0);
    *loss = total;
    *measured = seen;
    free(g);
    free(h);
    free(gh);
    return predictions;
}

/* The inner-node rows of a Huffman path, l < L: the rows of points[l] in theta. */
INLINE void SUFFIX(path_ptrs)(const SUFFIX(Rows) *theta, const int32_t *points, int64_t L, real **rows) {
    for (int64_t l = 0; l < L; l++) rows[l] = SUFFIX(row_at)(theta, points[l]);
}

/* The loss of m rows of L path scores g with codes b_l: label 1 - b_l. */
INLINE double SUFFIX(hs_losses)(const real *g, int64_t m, const uint8_t *codes, int64_t L) {
    uint8_t positive[MAX_CODE];
    for (int64_t l = 0; l < L; l++) positive[l] = !codes[l];
    return SUFFIX(score_losses)(g, m * L, positive, L);
}

/* Hierarchical softmax for one input row x (d,) and a path of L inner-node rows
 * ts with codes b_l: the score f = ts[l].x gives g_l = s(f) - (1 - b_l), stored
 * in g (L,). Returns the loss -sum log s((1 - 2 b_l) f_l) when with_loss, else 0. */
INLINE double SUFFIX(hs_scores)(const real *x, const real *const *ts, const uint8_t *codes, int64_t L,
                                       int64_t d, real *g, int with_loss) {
    double loss = 0.0;
    SUFFIX(rows_dot)(x, ts, L, d, g);
    if (with_loss) loss = SUFFIX(hs_losses)(g, 1, codes, L);
    SUFFIX(sigmoids)(g, L);
    for (int64_t l = 0; l < L; l++) g[l] -= (real)(1 - codes[l]);
    return loss;
}

/* One CBOW HS step: h, the mean of W[ctx] (m rows), predicts the path (pt, cd, L);
 * theta steps by -lr dJ/dtheta and every context occurrence by -lr dJ/dh
 * (word2vec.c's update). g (L,), h and dx (d,) are scratch. Returns the loss. */
INLINE double SUFFIX(cbow_hs_step)(const SUFFIX(Rows) *W, const SUFFIX(Rows) *theta, const int64_t *ctx, int64_t m,
                                   const int32_t *pt, const uint8_t *cd, int64_t L, real *g, real *h, real *dx,
                                   real lr, int with_loss) {
    real *xs[MAX_CONTEXT], *ts[MAX_CODE];
    int64_t d = W->d;
    SUFFIX(row_ptrs)(W, ctx, m, xs);
    SUFFIX(path_ptrs)(theta, pt, L, ts);
    SUFFIX(mean_rows)((const real *const *)xs, m, d, h);
    double loss = SUFFIX(hs_scores)(h, (const real *const *)ts, cd, L, d, g, with_loss);
    SUFFIX(out_step)(ts, L, g, h, dx, d, lr); /* a path's nodes are distinct rows */
    SUFFIX(rows_add)(xs, m, -lr, dx, d);
    return loss;
}

/* One skip-gram HS step: each context row W[ctx[a]] predicts the center's path;
 * all m x L scores and every dJ/dW[o_a] come from the parameters before the
 * step, then theta and W[o_a] step by -lr times the gradient. g (m, L), packed
 * so that one loop takes every sigmoid, and dx (m, d) are scratch. Returns the loss. */
INLINE double SUFFIX(sg_hs_step)(const SUFFIX(Rows) *W, const SUFFIX(Rows) *theta, const int64_t *ctx, int64_t m,
                                 const int32_t *pt, const uint8_t *cd, int64_t L, real *g, real *dx, real lr,
                                 int with_loss) {
    real *xs[MAX_CONTEXT], *ts[MAX_CODE];
    int64_t d = W->d;
    SUFFIX(row_ptrs)(W, ctx, m, xs);
    SUFFIX(path_ptrs)(theta, pt, L, ts);
    double loss = 0.0;
    for (int64_t a = 0; a < m; a++) SUFFIX(rows_dot)(xs[a], (const real *const *)ts, L, d, g + a * L);
    if (with_loss) loss = SUFFIX(hs_losses)(g, m, cd, L);
    SUFFIX(sigmoids)(g, m * L);
    for (int64_t a = 0; a < m; a++)
        for (int64_t l = 0; l < L; l++) g[a * L + l] -= (real)(1 - cd[l]);
    SUFFIX(pairs_step_gemm)(xs, m, ts, L, g, L, dx, d, lr); /* a path's nodes are distinct rows */
    return loss;
}

/* Hierarchical-softmax updates for every center position, in order. theta
 * (n_inner = V - 1, d) holds the inner nodes; points/codes (V, MAX_CODE) and
 * codelen (V,) the Huffman tree. cbow 0: skip-gram, each context row predicts
 * the center's path (as word2vec.c), SUFFIX(sg_hs_step); cbow 1: SUFFIX(cbow_hs_step).
 * The n_hot highest-numbered nodes (the top of the tree, on nearly every path)
 * and the rows of W of the n_hot_words most frequent words are trained in
 * private copies and their change is added at the end (SUFFIX(Rows)): threads
 * sharing W and theta then do not write the same rows at every center. With
 * both 0 every step is in place. Returns the predictions trained (pairs for
 * skip-gram, centers for CBOW), -1 if scratch memory could not be allocated;
 * *loss and *measured as w2v_train_positions. */
HOT int64_t SUFFIX(w2v_train_hs)(real *W, real *theta, int64_t d, const int32_t *tokens, const int32_t *sentence,
                         const int32_t *radius, const uint8_t *centers, int64_t n, const int32_t *points,
                         const uint8_t *codes, const int32_t *codelen, int64_t n_inner, int64_t n_hot,
                         int64_t n_hot_words, double lr0, double lr1, int64_t loss_every, int64_t cbow, double *loss,
                         int64_t *measured) {
    int64_t count = 0, first_hot = n_inner - n_hot;
    real *g = malloc(sizeof(real) * MAX_CONTEXT * MAX_CODE), *h = malloc(sizeof(real) * d);
    real *dx = malloc(sizeof(real) * MAX_CONTEXT * d);
    Center both[2], *cur = &both[0], *nxt = &both[1], *swap;
    SUFFIX(Rows) Wr, Tr;
    /* Local sums, written to *loss and *measured once at the end: those may share */
    /* a cache line with another thread's. */
    double total = 0.0;
    int64_t seen = 0;
    int ok_W = SUFFIX(rows_open)(&Wr, W, 0, n_hot_words, d), ok_T = SUFFIX(rows_open)(&Tr, theta, first_hot, n_hot, d);
    if (!ok_W || !ok_T || !g || !h || !dx) count = -1;
    next_center(tokens, sentence, radius, centers, n, 0, cur);
    while (count >= 0 && cur->i < n) {
        if (next_center(tokens, sentence, radius, centers, n, cur->i + 1, nxt) < n) {
            int64_t w = tokens[nxt->i], shared = 0; /* the private nodes are in cache already */
            for (int64_t l = 0; l < codelen[w]; l++)
                if (points[w * MAX_CODE + l] < first_hot) nxt->out[shared++] = points[w * MAX_CODE + l];
            SUFFIX(prefetch)(&Tr, nxt->out, shared);
            SUFFIX(prefetch)(&Wr, nxt->ctx, nxt->m);
        }
        int64_t m = cur->m, w = tokens[cur->i];
        const int32_t *pt = points + w * MAX_CODE;
        const uint8_t *cd = codes + w * MAX_CODE;
        int with_loss = cur->i % loss_every == 0 || seen == 0;
        real lr = (real)lr_at(lr0, lr1, cur->i, n);
        int64_t done = cbow ? 1 : m;
        total += cbow ? SUFFIX(cbow_hs_step)(&Wr, &Tr, cur->ctx, m, pt, cd, codelen[w], g, h, dx, lr, with_loss)
                      : SUFFIX(sg_hs_step)(&Wr, &Tr, cur->ctx, m, pt, cd, codelen[w], g, dx, lr, with_loss);
        if (with_loss) seen += done;
        count += done;
        swap = cur, cur = nxt, nxt = swap;
    }
    SUFFIX(rows_close)(&Wr, count >= 0);
    SUFFIX(rows_close)(&Tr, count >= 0);
    *loss = total;
    *measured = seen;
    free(g);
    free(h);
    free(dx);
    return count;
}

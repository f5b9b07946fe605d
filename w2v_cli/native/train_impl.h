/* The skip-gram and CBOW update kernels, written once for the floating type `real`.
 * kernel.c includes this file twice: real = float (training) and real = double
 * (gradcheck compares one step with the float64 reference gradients). Each
 * name is suffixed by SUFFIX, and EXP is the exp of that type.
 */
/* g[a*K1 + b] = dJ/dz for input row ctx[a] and output row out[b] (b = 0: the
 * center). Returns the loss when with_loss, else 0 (the loss costs a log per score). */
static inline double SUFFIX(scores)(const real *W, const real *C, int64_t d, const int64_t *ctx, int64_t m,
                            const int64_t *out, int64_t K1, real *g, int with_loss) {
    double loss = 0.0;
    for (int64_t a = 0; a < m; a++) {
        const real *w = W + ctx[a] * d;
        for (int64_t b = 0; b < K1; b++) {
            const real *c = C + out[b] * d;
            real z = (real)0;
            for (int64_t e = 0; e < d; e++) z += w[e] * c[e];
            g[a * K1 + b] = (real)1 / ((real)1 + EXP(-z)) - (b == 0 ? (real)1 : (real)0);
            if (with_loss) { /* -log s(z) = log1p(e^-z); -log s(-z) = z + log1p(e^-z) */
                double x = (double)z, lp = x > -30.0 ? log1p(exp(-x)) : -x;
                loss += b == 0 ? lp : x + lp;
            }
        }
    }
    return loss;
}

/* Both gradients from the snapshot, then C[out] -= lr gC and W[ctx] -= lr gW. */
static inline void SUFFIX(apply)(real *W, real *C, int64_t d, const int64_t *ctx, int64_t m, const int64_t *out,
                         int64_t K1, const real *g, real *gW, real *gC, real lr) {
    memset(gW, 0, sizeof(real) * m * d);
    memset(gC, 0, sizeof(real) * K1 * d);
    for (int64_t a = 0; a < m; a++) {
        const real *w = W + ctx[a] * d;
        real *gw = gW + a * d;
        for (int64_t b = 0; b < K1; b++) {
            const real *c = C + out[b] * d;
            real *gc = gC + b * d, gab = g[a * K1 + b];
            for (int64_t e = 0; e < d; e++) gw[e] += gab * c[e];
            for (int64_t e = 0; e < d; e++) gc[e] += gab * w[e];
        }
    }
    for (int64_t b = 0; b < K1; b++) {
        real *c = C + out[b] * d;
        for (int64_t e = 0; e < d; e++) c[e] -= lr * gC[b * d + e];
    }
    for (int64_t a = 0; a < m; a++) {
        real *w = W + ctx[a] * d;
        for (int64_t e = 0; e < d; e++) w[e] -= lr * gW[a * d + e];
    }
}

/* Skip-gram negative-sampling updates for every center position, in order.
 *
 * W, C (V, d) of type real; tokens, sentence, radius (n,) int32; centers (n,) uint8;
 * negatives (n, K) int32, or NULL to draw them here from the alias table
 * (prob, alias) with xorshift64* seeded by `seed`. lr moves linearly from lr0
 * to lr1 over the positions. The loss is measured on every loss_every-th
 * center (and on the first center with pairs). Returns every pair trained,
 * -1 if scratch memory could not be allocated; *loss and *measured get the
 * loss of the measured centers and their pairs. */
HOT int64_t SUFFIX(w2v_train_positions)(real *W, real *C, int64_t d, const int32_t *tokens, const int32_t *sentence,
                                const int32_t *radius, const uint8_t *centers, int64_t n, const int32_t *negatives,
                                const double *prob, const int64_t *alias, int64_t V, int64_t K, double lr0,
                                double lr1, uint64_t seed, int64_t loss_every, double *loss, int64_t *measured) {
    int64_t K1 = K + 1, ctx[MAX_CONTEXT], pairs = 0;
    int64_t *out = malloc(sizeof(int64_t) * K1);
    real *g = malloc(sizeof(real) * MAX_CONTEXT * K1);
    real *gW = malloc(sizeof(real) * MAX_CONTEXT * d);
    real *gC = malloc(sizeof(real) * K1 * d);
    uint64_t state = seed | 1ULL;
    *loss = 0.0;
    *measured = 0;
    if (!out || !g || !gW || !gC) pairs = -1;
    for (int64_t i = 0; i < n && pairs >= 0; i++) {
        if (!centers[i]) continue;
        int64_t m = window(tokens, sentence, radius, n, i, ctx);
        if (m == 0) continue;
        outputs(tokens, i, negatives, K, prob, alias, V, &state, out);
        int with_loss = i % loss_every == 0 || *measured == 0;
        *loss += SUFFIX(scores)(W, C, d, ctx, m, out, K1, g, with_loss);
        if (with_loss) *measured += m;
        real lr = (real)lr_at(lr0, lr1, i, n);
        SUFFIX(apply)(W, C, d, ctx, m, out, K1, g, gW, gC, lr);
        pairs += m;
    }
    free(out);
    free(g);
    free(gW);
    free(gC);
    return pairs;
}


/* One CBOW step for the m context rows ctx and the K1 output rows out: h = the
 * mean of W[ctx]; g = dJ/dz of each score z = C[out_b].h; then C[out_b] -= lr g_b h
 * and each context occurrence W[o_j] -= lr * step * dJ/dh, dJ/dh = sum_b g_b C[out_b]
 * (from the parameters before the step), step 1/m if mean_step else 1. h, gh (d,)
 * and g (K1,) are scratch. Returns the loss when with_loss, else 0. */
static inline double SUFFIX(cbow_step)(real *W, real *C, int64_t d, const int64_t *ctx, int64_t m, const int64_t *out,
                               int64_t K1, real *g, real *h, real *gh, real lr, int64_t mean_step, int with_loss) {
    memset(h, 0, sizeof(real) * d);
    for (int64_t a = 0; a < m; a++)
        for (int64_t e = 0; e < d; e++) h[e] += W[ctx[a] * d + e];
    for (int64_t e = 0; e < d; e++) h[e] /= (real)m;
    /* h as the one input row: the skip-gram score code computes g and the loss */
    double loss = SUFFIX(scores)(h, C, d, (const int64_t[]){0}, 1, out, K1, g, with_loss);
    memset(gh, 0, sizeof(real) * d);
    for (int64_t b = 0; b < K1; b++)
        for (int64_t e = 0; e < d; e++) gh[e] += g[b] * C[out[b] * d + e];
    for (int64_t b = 0; b < K1; b++)
        for (int64_t e = 0; e < d; e++) C[out[b] * d + e] -= lr * g[b] * h[e];
    real step = mean_step ? lr / (real)m : lr;
    for (int64_t a = 0; a < m; a++)
        for (int64_t e = 0; e < d; e++) W[ctx[a] * d + e] -= step * gh[e];
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
                           const double *prob, const int64_t *alias, int64_t V, int64_t K, double lr0, double lr1,
                           uint64_t seed, int64_t loss_every, int64_t mean_step, double *loss, int64_t *measured) {
    int64_t K1 = K + 1, ctx[MAX_CONTEXT], predictions = 0;
    int64_t *out = malloc(sizeof(int64_t) * K1);
    real *g = malloc(sizeof(real) * K1), *h = malloc(sizeof(real) * d), *gh = malloc(sizeof(real) * d);
    uint64_t state = seed | 1ULL;
    *loss = 0.0;
    *measured = 0;
    if (!out || !g || !h || !gh) predictions = -1;
    for (int64_t i = 0; i < n && predictions >= 0; i++) {
        if (!centers[i]) continue;
        int64_t m = window(tokens, sentence, radius, n, i, ctx);
        if (m == 0) continue;
        outputs(tokens, i, negatives, K, prob, alias, V, &state, out);
        int with_loss = i % loss_every == 0 || *measured == 0;
        real lr = (real)lr_at(lr0, lr1, i, n);
        *loss += SUFFIX(cbow_step)(W, C, d, ctx, m, out, K1, g, h, gh, lr, mean_step, with_loss);
        if (with_loss) *measured += 1;
        predictions++;
    }
    free(out);
    free(g);
    free(h);
    free(gh);
    return predictions;
}

/* Hierarchical softmax for one input row x (d,) and the path of word w: for each
 * inner node n_l (points[w*MAX_CODE + l], l < codelen[w]) with code b_l, the
 * score f = theta[n_l].x gives g_l = s(f) - (1 - b_l), stored in g (L,). Returns
 * the loss -sum log s((1 - 2 b_l) f_l) when with_loss, else 0. */
static inline double SUFFIX(hs_scores)(const real *x, const real *theta, int64_t d, const int32_t *points,
                               const uint8_t *codes, int64_t L, real *g, int with_loss) {
    double loss = 0.0;
    for (int64_t l = 0; l < L; l++) {
        const real *t = theta + (int64_t)points[l] * d;
        real f = (real)0;
        for (int64_t e = 0; e < d; e++) f += x[e] * t[e];
        g[l] = (real)1 / ((real)1 + EXP(-f)) - (real)(1 - codes[l]);
        if (with_loss) { /* -log s(z), z = (1 - 2b) f */
            double z = codes[l] ? -(double)f : (double)f;
            loss += z > -30.0 ? log1p(exp(-z)) : -z;
        }
    }
    return loss;
}

/* dx = sum_l g_l theta[n_l] (into dx, zeroed first); theta[n_l] -= lr g_l x. */
static inline void SUFFIX(hs_apply)(const real *x, real *theta, int64_t d, const int32_t *points, int64_t L,
                            const real *g, real *dx, real lr) {
    memset(dx, 0, sizeof(real) * d);
    for (int64_t l = 0; l < L; l++) {
        const real *t = theta + (int64_t)points[l] * d;
        for (int64_t e = 0; e < d; e++) dx[e] += g[l] * t[e];
    }
    for (int64_t l = 0; l < L; l++) {
        real *t = theta + (int64_t)points[l] * d;
        for (int64_t e = 0; e < d; e++) t[e] -= lr * g[l] * x[e];
    }
}

/* One CBOW HS step: h, the mean of W[ctx] (m rows), predicts the path (pt, cd, L);
 * theta steps by -lr dJ/dtheta and every context occurrence by -lr dJ/dh
 * (word2vec.c's update). g (L,), h and dx (d,) are scratch. Returns the loss. */
static inline double SUFFIX(cbow_hs_step)(real *W, real *theta, int64_t d, const int64_t *ctx, int64_t m,
                                  const int32_t *pt, const uint8_t *cd, int64_t L, real *g, real *h, real *dx,
                                  real lr, int with_loss) {
    memset(h, 0, sizeof(real) * d);
    for (int64_t a = 0; a < m; a++)
        for (int64_t e = 0; e < d; e++) h[e] += W[ctx[a] * d + e];
    for (int64_t e = 0; e < d; e++) h[e] /= (real)m;
    double loss = SUFFIX(hs_scores)(h, theta, d, pt, cd, L, g, with_loss);
    SUFFIX(hs_apply)(h, theta, d, pt, L, g, dx, lr);
    for (int64_t a = 0; a < m; a++)
        for (int64_t e = 0; e < d; e++) W[ctx[a] * d + e] -= lr * dx[e];
    return loss;
}

/* One skip-gram HS step: each context row W[ctx[a]] predicts the center's path;
 * all m x L scores and every dJ/dW[o_a] come from the parameters before the
 * step, then theta and W[o_a] step by -lr times the gradient. g (m, MAX_CODE)
 * and dx (m, d) are scratch. Returns the loss. */
static inline double SUFFIX(sg_hs_step)(real *W, real *theta, int64_t d, const int64_t *ctx, int64_t m,
                                const int32_t *pt, const uint8_t *cd, int64_t L, real *g, real *dx, real lr,
                                int with_loss) {
    double loss = 0.0;
    for (int64_t a = 0; a < m; a++) {
        real *ga = g + a * MAX_CODE, *dxa = dx + a * d;
        loss += SUFFIX(hs_scores)(W + ctx[a] * d, theta, d, pt, cd, L, ga, with_loss);
        memset(dxa, 0, sizeof(real) * d);
        for (int64_t l = 0; l < L; l++)
            for (int64_t e = 0; e < d; e++) dxa[e] += ga[l] * theta[(int64_t)pt[l] * d + e];
    }
    for (int64_t a = 0; a < m; a++)
        for (int64_t l = 0; l < L; l++)
            for (int64_t e = 0; e < d; e++) theta[(int64_t)pt[l] * d + e] -= lr * g[a * MAX_CODE + l] * W[ctx[a] * d + e];
    for (int64_t a = 0; a < m; a++)
        for (int64_t e = 0; e < d; e++) W[ctx[a] * d + e] -= lr * dx[a * d + e];
    return loss;
}

/* Hierarchical-softmax updates for every center position, in order. theta
 * (V - 1, d) holds the inner nodes; points/codes (V, MAX_CODE) and codelen (V,)
 * the Huffman tree. cbow 0: skip-gram, each context row predicts the center's
 * path (as word2vec.c), SUFFIX(sg_hs_step); cbow 1: SUFFIX(cbow_hs_step).
 * Returns the predictions trained (pairs for skip-gram, centers for CBOW), -1
 * if scratch memory could not be allocated; *loss and *measured as
 * w2v_train_positions. */
HOT int64_t SUFFIX(w2v_train_hs)(real *W, real *theta, int64_t d, const int32_t *tokens, const int32_t *sentence,
                         const int32_t *radius, const uint8_t *centers, int64_t n, const int32_t *points,
                         const uint8_t *codes, const int32_t *codelen, double lr0, double lr1, int64_t loss_every,
                         int64_t cbow, double *loss, int64_t *measured) {
    int64_t ctx[MAX_CONTEXT], count = 0;
    real *g = malloc(sizeof(real) * MAX_CONTEXT * MAX_CODE), *h = malloc(sizeof(real) * d);
    real *dx = malloc(sizeof(real) * MAX_CONTEXT * d);
    *loss = 0.0;
    *measured = 0;
    if (!g || !h || !dx) count = -1;
    for (int64_t i = 0; i < n && count >= 0; i++) {
        if (!centers[i]) continue;
        int64_t m = window(tokens, sentence, radius, n, i, ctx), w = tokens[i];
        if (m == 0) continue;
        const int32_t *pt = points + w * MAX_CODE;
        const uint8_t *cd = codes + w * MAX_CODE;
        int with_loss = i % loss_every == 0 || *measured == 0;
        real lr = (real)lr_at(lr0, lr1, i, n);
        int64_t done = cbow ? 1 : m;
        *loss += cbow ? SUFFIX(cbow_hs_step)(W, theta, d, ctx, m, pt, cd, codelen[w], g, h, dx, lr, with_loss)
                      : SUFFIX(sg_hs_step)(W, theta, d, ctx, m, pt, cd, codelen[w], g, dx, lr, with_loss);
        if (with_loss) *measured += done;
        count += done;
    }
    free(g);
    free(h);
    free(dx);
    return count;
}

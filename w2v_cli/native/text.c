/* The word2vec text format's rows: "word v1 ... vd\n", each value as C's "%.7g" prints it.
 *
 * Same bytes as Python's "%.7g" % v (`formats.text_rows`, the reference) for
 * every finite value; non-finite values print as Python does ("nan", "inf", "-inf").
 * The fast path rounds |v| to 7 significant digits with one scaling by an exact
 * power of ten and an integer rounding, then lays out the digits as %g does. A
 * value whose scaled fraction lies within 1e-4 of one half (where the scaling's
 * own rounding error, below 1e-8, could decide), or whose magnitude lies outside
 * 1e-15..1e15, goes to snprintf, so the digits are always the correctly rounded ones.
 *
 * Left out: any other precision; the Python side formats TSV and takes over where
 * this library is not installed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { SIG = 7, MAX_VALUE_CHARS = 16 }; /* " -1.234567e-308" is 15 bytes */

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* 10^e for -16 <= e <= 16, the nearest doubles. */
static const double POW10E[33] = {1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6,
                                  1e-5,  1e-4,  1e-3,  1e-2,  1e-1,  1e0,   1e1,   1e2,  1e3,  1e4,  1e5,
                                  1e6,   1e7,   1e8,   1e9,   1e10,  1e11,  1e12,  1e13, 1e14, 1e15, 1e16};

/* floor(log10(a)) for 1e-15 <= a < 1e15, up to the rounding of 10^e (the caller corrects).
 * a lies in [2^b, 2^(b+1)) for its binary exponent b, so floor(log10 a) is floor(b log10 2) or one more.
 * (b * 1233) >> 12 is floor(b log10 2) for |b| <= 50: b log10 2 stays 0.01 from every integer there. */
static inline int decimal_exponent(double a) {
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int b = (int)((bits >> 52) & 0x7ff) - 1023;
    int e = (b * 1233) >> 12; /* an arithmetic shift floors */
    return a >= POW10E[e + 17] ? e + 1 : e;
}

/* The digits of `r` (SIG of them, r in [10^6, 10^7)) into d; returns how many are left
 * once trailing zeros are dropped (at least 1). Example: 1250000 -> "1250000", 3. */
static inline int sig_digits(int64_t r, char *d) {
    for (int i = SIG - 1; i >= 0; i--, r /= 10) d[i] = (char)('0' + r % 10);
    int n = SIG;
    while (n > 1 && d[n - 1] == '0') n--;
    return n;
}

/* %g's layout of n digits d with decimal exponent e into out (no sign); returns the length.
 * Examples: ("125", 3, e=-1) -> "0.125"; ("125", 3, e=1) -> "12.5"; ("1", 1, e=-5) -> "1e-05". */
static int layout(char *out, const char *d, int n, int e) {
    char *p = out;
    if (e < -4 || e >= SIG) {
        *p++ = d[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)(n - 1));
            p += n - 1;
        }
        return (int)(p - out) + sprintf(p, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    if (e < 0) {
        memcpy(p, "0.0000", (size_t)(1 - e));
        p += 1 - e;
        memcpy(p, d, (size_t)n);
        return (int)(p - out) + n;
    }
    memcpy(p, d, (size_t)(e + 1)); /* the integer part: digits 0..e, all of them significant or zero */
    p += e + 1;
    if (n > e + 1) {
        *p++ = '.';
        memcpy(p, d + e + 1, (size_t)(n - e - 1));
        p += n - e - 1;
    }
    return (int)(p - out);
}

/* Rounds a > 0 to SIG digits: r in [10^6, 10^7) and the exponent *e; 0 where snprintf must decide. */
static inline int64_t round_sig(double a, int *e) {
    if (!(a >= 1e-15 && a < 1e15)) return 0;
    *e = decimal_exponent(a);
    int k = SIG - 1 - *e;
    double y = k >= 0 ? a * POW10[k] : a / POW10[-k]; /* in [10^6, 10^7), up to rounding */
    int64_t r = (int64_t)y;
    double frac = y - (double)r;
    if (fabs(frac - 0.5) < 1e-4) return 0;
    r += frac > 0.5;
    if (r == 10000000) { /* 9999999.5 and up: one digit more */
        r = 1000000;
        *e += 1;
    }
    return r >= 1000000 && r < 10000000 ? r : 0;
}

/* x as "%.7g" into out (at least MAX_VALUE_CHARS bytes); returns the length. */
static int format_g7(char *out, double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits); /* the sign by its bit: -0.0 prints "-0" */
    int neg = (int)(bits >> 63), len = 0;
    if (isnan(x)) return (int)(memcpy(out, "nan", 3), 3);
    if (neg) out[len++] = '-';
    double a = neg ? -x : x;
    if (isinf(a)) return (int)(memcpy(out + len, "inf", 3), len + 3);
    if (bits << 1 == 0) return (int)(out[len] = '0', len + 1);
    int e;
    int64_t r = round_sig(a, &e);
    if (r == 0) return len + snprintf(out + len, MAX_VALUE_CHARS, "%.7g", a);
    char d[SIG];
    int n = sig_digits(r, d);
    return len + layout(out + len, d, n, e);
}

/* Rows "word v1 ... vd\n" for n words (word i is pool[off[i]:off[i+1]]) and M (n, d)
 * row-major, into out, which holds at least off[n] - off[0] + n * (d * MAX_VALUE_CHARS + 1)
 * bytes. Returns the bytes written. */
int64_t w2v_format_text(const uint8_t *pool, const int64_t *off, const double *M, int64_t n, int64_t d, char *out) {
    char *p = out;
    for (int64_t i = 0; i < n; i++) {
        int64_t len = off[i + 1] - off[i];
        memcpy(p, pool + off[i], (size_t)len);
        p += len;
        for (int64_t j = 0; j < d; j++) {
            *p++ = ' ';
            p += format_g7(p, M[i * d + j]);
        }
        *p++ = '\n';
    }
    return p - out;
}

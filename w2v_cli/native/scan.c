/* The vocabulary scanner of w2v: split bytes into tokens on Unicode whitespace,
 * optionally normalise each token, and count it in an open-addressing hash table
 * (keys in one byte pool, like word2vec.c's vocabulary hash). Tokens are cut and
 * hashed a batch ahead of their lookups, so that the table's cache misses overlap.
 *
 * Same tokens, ids and counts as the Python scanner (`scan.PyScanner`), which is
 * the reference: whitespace is the set `str.isspace` accepts, normalisation is
 * `normalise.normalise_bytes`, driven by the tables `normalise.tables()` builds
 * from Python's unicodedata. Invalid UTF-8 bytes are never whitespace, never
 * punctuation or letters, and are kept as they are.
 *
 * Left out: memory management. The caller sizes every array for a block's worst
 * case before each call and prunes or grows them between calls (`scan.py`).
 */
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LITTLE_ENDIAN_BYTES 1 /* the first byte of a loaded word is its lowest */
#else
#define LITTLE_ENDIAN_BYTES 0
#endif

enum { LOWERCASE = 1, STRIP = 2, FROZEN = 4 };            /* flags */
enum { PUNCT = 1, CASED = 2, IGNORABLE = 4 };            /* props bits, as normalise.py */
enum { N_WORDS, POOL_USED, RUN, TOKENS, STATE_SIZE };  /* state[] slots */

/* Normalisation tables (normalise.tables()); unused when flags has neither option. */
typedef struct {
    const uint8_t *props; /* (0x110000,) */
    const int32_t *lower; /* (0x110000,) code point, or -1-k: extra[k] = length, then code points */
    const int32_t *extra;
} Tables;

/* Bytes of the whitespace character at p (0 if none); left = bytes available. */
static inline int space_len(const uint8_t *p, int64_t left) {
    uint8_t b = p[0];
    if (b < 0x80) return (b >= 9 && b <= 13) || (b >= 28 && b <= 32);
    if (b == 0xC2) return left >= 2 && (p[1] == 0x85 || p[1] == 0xA0) ? 2 : 0;
    if (b < 0xE1 || b > 0xE3 || left < 3) return 0;
    if (b == 0xE1) return p[1] == 0x9A && p[2] == 0x80 ? 3 : 0;
    if (b == 0xE3) return p[1] == 0x80 && p[2] == 0x80 ? 3 : 0;
    if (p[1] == 0x80) return (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF) && p[2] >= 0x80 ? 3 : 0;
    return p[1] == 0x81 && p[2] == 0x9F ? 3 : 0;
}

static inline int cont(uint8_t b) { return (b & 0xC0) == 0x80; }

/* Decode the UTF-8 character at p into *cp; returns its length. An invalid byte
 * (as Python's strict decoder judges: overlong, surrogate, > U+10FFFF, truncated)
 * is one unit of length 1 with *cp = -1. */
static inline int decode(const uint8_t *p, int64_t left, int32_t *cp) {
    uint8_t b = p[0];
    *cp = -1;
    if (b < 0x80) return *cp = b, 1;
    if (b >= 0xC2 && b <= 0xDF && left >= 2 && cont(p[1])) return *cp = ((b & 0x1F) << 6) | (p[1] & 0x3F), 2;
    if (b >= 0xE0 && b <= 0xEF && left >= 3 && cont(p[1]) && cont(p[2])) {
        int32_t c = ((b & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) return 1;
        return *cp = c, 3;
    }
    if (b >= 0xF0 && b <= 0xF4 && left >= 4 && cont(p[1]) && cont(p[2]) && cont(p[3])) {
        int32_t c = ((b & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        if (c < 0x10000 || c > 0x10FFFF) return 1;
        return *cp = c, 4;
    }
    return 1;
}

/* Write code point cp as UTF-8 at dst; returns the bytes written. */
static inline int encode(int32_t cp, uint8_t *dst) {
    if (cp < 0x80) return dst[0] = (uint8_t)cp, 1;
    if (cp < 0x800) return dst[0] = 0xC0 | (cp >> 6), dst[1] = 0x80 | (cp & 0x3F), 2;
    if (cp < 0x10000) return dst[0] = 0xE0 | (cp >> 12), dst[1] = 0x80 | ((cp >> 6) & 0x3F), dst[2] = 0x80 | (cp & 0x3F), 3;
    dst[0] = 0xF0 | (cp >> 18), dst[1] = 0x80 | ((cp >> 12) & 0x3F);
    dst[2] = 0x80 | ((cp >> 6) & 0x3F), dst[3] = 0x80 | (cp & 0x3F);
    return 4;
}

static inline uint8_t props_of(const Tables *t, int32_t cp) { return cp < 0 ? 0 : t->props[cp]; }

/* The token tok[a:b) without leading and trailing punctuation: sets *a, *b. */
static void strip(const uint8_t *tok, int64_t *a, int64_t *b, const Tables *t) {
    int64_t i = *a, end = *a;
    int32_t cp;
    while (i < *b) { /* skip leading punctuation */
        int k = decode(tok + i, *b - i, &cp);
        if (!(props_of(t, cp) & PUNCT)) break;
        i += k;
    }
    *a = end = i;
    while (i < *b) { /* end = end of the last non-punctuation character */
        int k = decode(tok + i, *b - i, &cp);
        i += k;
        if (!(props_of(t, cp) & PUNCT)) end = i;
    }
    *b = end;
}

/* str.lower's final-sigma test for the capital sigma ending at tok[i] within
 * tok[:b): `before` says whether the last character before it that is not
 * case-ignorable is cased; the first such character after it must not be. */
static int final_sigma(const uint8_t *tok, int64_t i, int64_t b, int before, const Tables *t) {
    int32_t cp;
    if (!before) return 0;
    for (int64_t j = i; j < b;) {
        j += decode(tok + j, b - j, &cp);
        uint8_t p = props_of(t, cp);
        if (!(p & IGNORABLE)) return !(p & CASED);
    }
    return 1;
}

/* Lower-case tok[a:b) into dst (room for 1.5x); returns the bytes written. */
static int64_t lower(const uint8_t *tok, int64_t a, int64_t b, uint8_t *dst, const Tables *t) {
    int64_t m = 0;
    int cased_before = 0; /* the last non-ignorable character so far is cased */
    for (int64_t i = a; i < b;) {
        int32_t cp;
        int k = decode(tok + i, b - i, &cp);
        uint8_t p = props_of(t, cp);
        if (cp < 0) {
            dst[m++] = tok[i];
        } else if (cp == 0x3A3) {
            m += encode(final_sigma(tok, i + k, b, cased_before, t) ? 0x3C2 : 0x3C3, dst + m);
        } else if (t->lower[cp] >= 0) {
            m += encode(t->lower[cp], dst + m);
        } else {
            const int32_t *seq = t->extra + (-1 - t->lower[cp]);
            for (int32_t s = 1; s <= seq[0]; s++) m += encode(seq[s], dst + m);
        }
        if (!(p & IGNORABLE)) cased_before = (p & CASED) != 0;
        i += k;
    }
    return m;
}

/* The normalised form of tok[0:len) into dst; returns its length (0: drop it). */
static int64_t normalise(const uint8_t *tok, int64_t len, int64_t flags, uint8_t *dst, const Tables *t) {
    int64_t a = 0, b = len;
    if (flags & STRIP) strip(tok, &a, &b, t);
    if (flags & LOWERCASE) return lower(tok, a, b, dst, t);
    memcpy(dst, tok + a, (size_t)(b - a));
    return b - a;
}

/* Up to 8 bytes at p as a little-endian integer, zero above byte k (1 <= k <= 8). */
static inline uint64_t load_bytes(const uint8_t *p, int64_t k) {
    uint64_t v = 0;
    for (int64_t j = 0; j < k; j++) v |= (uint64_t)p[j] << (8 * j);
    return v;
}

/* 64-bit hash of p[0:len), 8 bytes a step; `wide` says 8 bytes can be read past
 * any byte of it (so the last step loads a whole word and masks it; the mask
 * keeps the first bytes only where they are the low ones, so big-endian
 * machines take the byte loop). Any hash gives the same ids (first-seen order);
 * it is kept per word only to rehash the table. */
static inline uint64_t hash_bytes(const uint8_t *p, int64_t len, int wide) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)len;
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        h = (h ^ v) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    if (i < len) {
        uint64_t v;
        if (wide && LITTLE_ENDIAN_BYTES) memcpy(&v, p + i, 8), v &= ~0ULL >> (64 - 8 * (len - i));
        else v = load_bytes(p + i, len - i);
        h = (h ^ v) * 0xFF51AFD7ED558CCDULL;
    }
    h ^= h >> 29;
    h *= 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 32);
}

/* Slot of the word tok[0:len) with hash h in table (or the empty slot where it goes).
 * A word's stored hash is compared before its bytes, so a probe past another
 * word costs one load, not a byte compare. */
static inline int64_t find_slot(const int32_t *table, int64_t table_size, const uint64_t *hashes, const uint8_t *pool,
                                const int64_t *word_off, const int64_t *word_len, const uint8_t *tok, int64_t len,
                                uint64_t h) {
    uint64_t mask = (uint64_t)table_size - 1, slot = h & mask;
    for (;;) {
        int32_t w = table[slot];
        if (w < 0) return (int64_t)slot;
        if (hashes[w] == h && word_len[w] == len && memcmp(pool + word_off[w], tok, (size_t)len) == 0)
            return (int64_t)slot;
        slot = (slot + 1) & mask;
    }
}

/* End of the token starting at buf[i]: the next whitespace, or n. Printable
 * ASCII (33..127) is never whitespace, so only other bytes are looked at closely. */
static inline int64_t token_end(const uint8_t *buf, int64_t i, int64_t n) {
    for (;;) {
        while (i < n && (uint8_t)(buf[i] - 33) < 95) i++;
        if (i == n || space_len(buf + i, n - i)) return i;
        i++;
    }
}

/* The counted words: an open-addressing table of ids over per-word arrays. */
typedef struct {
    int32_t *table; /* (mask + 1,) slot -> id, -1 empty */
    uint64_t mask;
    uint64_t *hashes; /* (words,) per word: hash, bytes in pool, count */
    int64_t *word_off, *word_len, *counts;
    uint8_t *pool;
} Store;

/* One step of the token stream: a token (len >= 1) or a sentence end (len < 0). */
typedef struct {
    const uint8_t *tok;
    int64_t len;
    uint64_t h;
} Event;

enum { BATCH = 64, AHEAD = 8 }; /* events cut before any is counted; words looked up ahead */

/* Cut at most BATCH events from buf[*i:n): each token normalised as flags say
 * (into pool from *scratch on), hashed and its table slot prefetched; a
 * sentence end at a line end after a token and every max_sentence tokens.
 * Advances *i, *run and *scratch; returns the number of events. */
static int64_t cut_events(const uint8_t *buf, int64_t n, int64_t *i, int64_t *run, int64_t max_sentence,
                          int64_t flags, const Tables *t, uint8_t **scratch, const Store *st, Event *ev) {
    int64_t k = 0;
    while (*i < n && k < BATCH - 1) { /* a token may bring a sentence end with it */
        int s = space_len(buf + *i, n - *i);
        if (s) {
            if (buf[*i] == 10 && *run > 0) ev[k++].len = -1, *run = 0;
            *i += s;
            continue;
        }
        int64_t end = token_end(buf, *i, n), len = end - *i;
        const uint8_t *tok = buf + *i;
        int wide = end + 8 <= n;
        *i = end;
        if (flags & (LOWERCASE | STRIP)) {
            len = normalise(tok, len, flags, *scratch, t);
            tok = *scratch, wide = 0;
            if (len == 0) continue;
            *scratch += len;
        }
        uint64_t h = hash_bytes(tok, len, wide);
        __builtin_prefetch(st->table + (h & st->mask));
        ev[k++] = (Event){tok, len, h};
        if (++*run == max_sentence) ev[k++].len = -1, *run = 0;
    }
    return k;
}

/* Prefetch the per-word entries of the word in e's first table slot, if any. */
static inline void prefetch_word(const Store *st, const Event *e) {
    if (e->len < 0) return;
    int32_t w = st->table[e->h & st->mask];
    if (w < 0) return;
    __builtin_prefetch(st->hashes + w), __builtin_prefetch(st->word_len + w);
    __builtin_prefetch(st->word_off + w), __builtin_prefetch(st->counts + w, 1);
}

/* Count the events ev[0:k) and write their ids (-1 for a sentence end) to out;
 * returns how many were written. A new word gets the next id and its bytes go to
 * pool at state[POOL_USED] (never past a later event's scratch bytes); under
 * FROZEN an unknown word is neither added nor counted nor written. */
static int64_t count_events(const Event *ev, int64_t k, Store *st, int64_t *state, int64_t flags, int32_t *out) {
    int64_t m = 0;
    for (int64_t j = 0; j < k; j++) {
        if (j + AHEAD < k) prefetch_word(st, ev + j + AHEAD);
        const Event *e = ev + j;
        if (e->len < 0) {
            out[m++] = -1;
            continue;
        }
        int64_t slot = find_slot(st->table, (int64_t)st->mask + 1, st->hashes, st->pool, st->word_off, st->word_len,
                                 e->tok, e->len, e->h);
        int32_t w = st->table[slot];
        state[TOKENS]++;
        if (w < 0 && !(flags & FROZEN)) {
            w = (int32_t)state[N_WORDS]++;
            st->table[slot] = w, st->hashes[w] = e->h;
            st->word_off[w] = state[POOL_USED], st->word_len[w] = e->len;
            memmove(st->pool + state[POOL_USED], e->tok, (size_t)e->len);
            state[POOL_USED] += e->len;
        }
        if (w >= 0) st->counts[w]++, out[m++] = w;
    }
    return m;
}

/* Tokenise buf[0:n) (split on Unicode whitespace), normalise each token as
 * flags say, and write word ids, with -1 at line ends and every max_sentence
 * tokens, to out; return how many. A new word gets the next id and its bytes go
 * to pool; under FROZEN, unknown words are not added, not counted and not
 * written, but still count towards max_sentence. Dropped tokens (normalised to
 * nothing) do not exist at all. state[N_WORDS, POOL_USED, RUN, TOKENS] is updated.
 * Tokens are cut and hashed a batch ahead of their lookups, so that the table's
 * cache misses overlap. The caller ensures room: every token new, table at most
 * half full, pool room for 2n bytes (normalising may lengthen a token 1.5x). */
int64_t w2v_scan_block(const uint8_t *buf, int64_t n, int32_t *table, int64_t table_size, uint64_t *hashes,
                       int64_t *word_off, int64_t *word_len, int64_t *counts, uint8_t *pool, int64_t *state,
                       int32_t *out, int64_t max_sentence, int64_t flags, const uint8_t *props, const int32_t *lower,
                       const int32_t *extra) {
    const Tables t = {props, lower, extra};
    Store st = {table, (uint64_t)table_size - 1, hashes, word_off, word_len, counts, pool};
    Event ev[BATCH];
    int64_t run = state[RUN], m = 0, i = 0;
    while (i < n) {
        uint8_t *scratch = pool + state[POOL_USED];
        int64_t k = cut_events(buf, n, &i, &run, max_sentence, flags, &t, &scratch, &st, ev);
        m += count_events(ev, k, &st, state, flags, out + m);
    }
    state[RUN] = run;
    return m;
}

/* Re-insert words 0..n_words-1 into an empty table (all -1) by their hashes. */
void w2v_rehash(int32_t *table, int64_t table_size, const uint64_t *hashes, int64_t n_words) {
    uint64_t mask = (uint64_t)table_size - 1;
    for (int64_t w = 0; w < n_words; w++) {
        uint64_t slot = hashes[w] & mask;
        while (table[slot] >= 0) slot = (slot + 1) & mask;
        table[slot] = (int32_t)w;
    }
}

/* Keep the words with keep[w] != 0, in id order, renumbered 0..k-1: their hash,
 * length, count and bytes move down in place (the pool too). Returns k; the
 * caller resets and rehashes the table and sets state[N_WORDS, POOL_USED]. */
int64_t w2v_compact(const uint8_t *keep, int64_t n_words, uint64_t *hashes, int64_t *word_off, int64_t *word_len,
                    int64_t *counts, uint8_t *pool, int64_t *pool_used) {
    int64_t k = 0, used = 0;
    for (int64_t w = 0; w < n_words; w++) {
        if (!keep[w]) continue;
        memmove(pool + used, pool + word_off[w], (size_t)word_len[w]);
        hashes[k] = hashes[w], word_len[k] = word_len[w], counts[k] = counts[w], word_off[k] = used;
        used += word_len[w];
        k++;
    }
    *pool_used = used;
    return k;
}

/* Whether pool[off:off+len) is valid UTF-8, for each of the n words: valid[w] = 0 or 1. */
void w2v_utf8_valid(const uint8_t *pool, const int64_t *word_off, const int64_t *word_len, int64_t n,
                    uint8_t *valid) {
    for (int64_t w = 0; w < n; w++) {
        const uint8_t *p = pool + word_off[w];
        int64_t len = word_len[w], i = 0;
        int32_t cp = 0;
        while (i < len && cp >= 0) i += decode(p + i, len - i, &cp);
        valid[w] = cp >= 0;
    }
}

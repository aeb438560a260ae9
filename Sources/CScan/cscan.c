#include "cscan.h"
#include <zlib.h>

unsigned long cscan_crc32(unsigned long crc, const unsigned char *buf, size_t len) {
    // zlib takes at most UINT_MAX bytes per call.
    while (len > 0) {
        unsigned int n = len > 0x40000000u ? 0x40000000u : (unsigned int)len;
        crc = crc32(crc, buf, n);
        buf += n;
        len -= n;
    }
    return crc;
}

size_t cscan_count_newlines(const unsigned char *buf, size_t len) {
    // A plain loop over 64-byte blocks that compilers vectorize (SSE2/AVX2/NEON): several GB/s, where a
    // memchr per line pays a call for every line.
    size_t n = 0, i = 0;
    while (i + 64 <= len) {
        unsigned char block = 0;
        for (size_t j = 0; j < 64; j++) block += buf[i + j] == '\n';
        n += block;
        i += 64;
    }
    for (; i < len; i++) n += buf[i] == '\n';
    return n;
}

// ---------------------------------------------------------------------------------------------------------------
// cscan_fields: FieldScanner's strict one-line JSON validator and top-level field extractor.

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#if defined(__APPLE__)
#include <xlocale.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    const uint8_t *line; // the line's first byte: a 16-byte load may end at `end` when the line is that long
    const uint8_t *end;
    intptr_t max_depth;
} scan_line;

static inline int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static inline const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end) {
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

static inline const uint8_t *literal(const uint8_t *p, const uint8_t *end, const char *word, intptr_t n) {
    return end - p >= n && memcmp(p, word, (size_t)n) == 0 ? p + n : NULL;
}

// The length of the valid UTF-8 sequence at p (a lead byte), or 0: no overlong forms, no surrogates, nothing above
// U+10FFFF.
static int utf8_length(const uint8_t *p, const uint8_t *end) {
    uint8_t c = p[0], lo = 0x80, hi = 0xBF;
    int len;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) { len = 3; lo = 0xA0; }
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xED) { len = 3; hi = 0x9F; }
    else if (c == 0xF0) { len = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) { len = 4; hi = 0x8F; }
    else return 0;
    if (end - p < len || p[1] < lo || p[1] > hi) return 0;
    for (int k = 2; k < len; k++) {
        if (p[k] < 0x80 || p[k] > 0xBF) return 0;
    }
    return len;
}

// The value of four hex digits at p, or -1.
static int32_t hex4(const uint8_t *p, const uint8_t *end) {
    if (end - p < 4) return -1;
    int32_t v = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = p[k];
        int32_t d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v << 4 | d;
    }
    return v;
}

// p is just past an opening quote, or anywhere inside the string: the closing quote, or NULL when the string is
// invalid. Sets *escaped when it has a backslash.
static const uint8_t *string_rest(const scan_line *s, const uint8_t *p, bool *escaped) {
    const uint8_t *end = s->end;
    for (;;) {
        // Skip the bytes that are none of: a quote, a backslash, a control character, a non-ASCII byte.
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(' ');
        for (;;) {
            unsigned special;
            if (end - p >= 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)p);
                // Signed: bytes >= 0x80 are below ' ' too.
                special = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                                                   _mm_cmplt_epi8(v, space)));
                if (special == 0) { p += 16; continue; }
            } else if (p < end && end - s->line >= 16) {
                // The last bytes: one load that ends at the line's end, the bytes before p shifted out.
                __m128i v = _mm_loadu_si128((const __m128i *)(end - 16));
                special = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                                                   _mm_cmplt_epi8(v, space)));
                special >>= 16 - (end - p);
                if (special == 0) return NULL; // no closing quote
            } else {
                break;
            }
            p += __builtin_ctz(special);
            break;
        }
#else
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            const uint64_t lows = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            uint64_t q = w ^ 0x2222222222222222ull, b = w ^ 0x5C5C5C5C5C5C5C5Cull;
            uint64_t special = ((q - lows) & ~q) | ((b - lows) & ~b) | ((w - 0x2020202020202020ull) & ~w);
            if ((special | w) & highs) break;
            p += 8;
        }
#endif
        if (p >= end) return NULL;
        uint8_t c = *p;
        if (c == '"') return p;
        if (c < 0x20) return NULL;
        if (c >= 0x80) {
            int len = utf8_length(p, end);
            if (len == 0) return NULL;
            p += len;
            continue;
        }
        if (c == '\\') {
            *escaped = true;
            if (end - p < 2) return NULL;
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                break;
            case 'u': {
                int32_t unit = hex4(p + 2, end);
                if (unit < 0) return NULL;
                p += 6;
                // A surrogate must come as a high/low pair, as Foundation's parser demands.
                if (unit >= 0xDC00 && unit < 0xE000) return NULL;
                if (unit >= 0xD800 && unit < 0xDC00) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return NULL;
                    int32_t low = hex4(p + 2, end);
                    if (low < 0xDC00 || low >= 0xE000) return NULL;
                    p += 6;
                }
                break;
            }
            default:
                return NULL;
            }
            continue;
        }
        p++;
    }
}

// string_rest, its first 16-byte loads inlined: most strings end there, with no escape and no byte to check.
static inline __attribute__((always_inline)) const uint8_t *string_end(const scan_line *s, const uint8_t *p, bool *escaped) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(' ');
    while (s->end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        unsigned special = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                                                    _mm_cmplt_epi8(v, space)));
        if (special != 0) {
            p += __builtin_ctz(special);
            if (*p == '"') return p;
            break;
        }
        p += 16;
    }
#endif
    return string_rest(s, p, escaped);
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

// The correctly rounded Double of a number token (what Swift's Double(String) gives: ±inf past the range, 0 or a
// subnormal below it).
static double token_value(const uint8_t *s, const uint8_t *e) {
    char small[128];
    size_t n = (size_t)(e - s);
    char *text = n < sizeof small ? small : malloc(n + 1);
    if (text == NULL) abort();
    memcpy(text, s, n);
    text[n] = 0;
    pthread_once(&c_locale_once, make_c_locale);
    double v = strtod_l(text, NULL, c_locale);
    if (text != small) free(text);
    return v;
}

// Whether a valid number token is within Double's range, mostly without converting it: a value of decimal
// magnitude 10^(m-1) <= |v| < 10^m is finite for m <= 308 and infinite for m >= 310.
static bool token_is_finite(const uint8_t *s, const uint8_t *e) {
    const uint8_t *q = s + (*s == '-');
    int64_t magnitude = 0;
    bool nonzero = *q != '0';
    const uint8_t *digits = q;
    while (q < e && is_digit(*q)) q++;
    if (nonzero) magnitude = q - digits;
    if (q < e && *q == '.') {
        for (q++; q < e && is_digit(*q); q++) {
            if (nonzero) continue;
            if (*q == '0') magnitude--; else nonzero = true;
        }
    }
    if (!nonzero) return true; // zero
    if (q < e) { // the exponent
        q++;
        bool negative = *q == '-';
        if (*q == '-' || *q == '+') q++;
        int64_t exponent = 0;
        for (; q < e; q++) {
            if (exponent < 1000000000000000LL) exponent = exponent * 10 + (*q - '0');
        }
        magnitude += negative ? -exponent : exponent;
    }
    if (magnitude <= 308) return true;
    if (magnitude >= 310) return false;
    return isfinite(token_value(s, e));
}

static const uint64_t integer_powers_of_ten[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CSCAN_SWAR_DIGITS 1
// Eight bytes read as a little-endian word: how many of them, from the first, are digits. A byte is one when its
// high nibble is 3, and still 3 after adding 6 (a carry out of a byte >= 0xFA can only spoil the bytes after it,
// and it is not a digit itself).
static inline int leading_digits(uint64_t v) {
    uint64_t other = ((v & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
                     (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull);
    return other == 0 ? 8 : __builtin_ctzll(other) >> 3;
}

// The value of the first n (1...8) digit bytes of v: shifted to the low end of an eight-digit number (zero bytes
// before them), folded in three multiplications (byte pairs, pairs of pairs, halves).
static inline uint64_t digits_value(uint64_t v, int n) {
    v <<= 8 * (8 - n);
    v = (v & 0x0F0F0F0F0F0F0F0Full) * 2561 >> 8;
    v = (v & 0x00FF00FF00FF00FFull) * 6553601 >> 16;
    return (v & 0x0000FFFF0000FFFFull) * 42949672960001ull >> 32;
}
#endif

// Digits at p folded into *mantissa (wrapping past 19 digits, where it is not used): eight bytes at a time while
// eight are left, then one by one.
static const uint8_t *fold_digits(const uint8_t *p, const uint8_t *end, uint64_t *mantissa) {
    uint64_t m = *mantissa;
#if CSCAN_SWAR_DIGITS
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        int k = leading_digits(v);
        if (k == 0) break;
        m = m * integer_powers_of_ten[k] + digits_value(v, k);
        p += k;
        if (k < 8) break;
    }
#endif
    for (; p < end && is_digit(*p); p++) m = m * 10 + (uint64_t)(*p - '0');
    *mantissa = m;
    return p;
}

static const double powers_of_ten[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// p is at '-' or a digit: past the number, or NULL when it is invalid (the grammar, or out of Double's range).
// With `value`, also its exact Double.
static inline __attribute__((always_inline)) const uint8_t *number(const uint8_t *p, const uint8_t *end, double *value) {
    const uint8_t *start = p;
    bool negative = *p == '-';
    p += negative;
    if (p >= end || !is_digit(*p)) return NULL;
#if CSCAN_SWAR_DIGITS
    // The usual number in one go: 1-15 integer digits without a leading zero, maybe a point and 1-7 digits, no
    // exponent, fewer than 19 digits, all within the next 16 (integer) and 8 (fraction) bytes. The same checks and
    // the same value as below.
    if (*p != '0' && end - p >= 16) {
        uint64_t a, b, c = 0;
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        int n = leading_digits(a);
        if (n == 8) n += leading_digits(b);
        int f = 0;
        uint8_t after = n < 16 ? p[n] : '0';
        bool point = after == '.';
        if (point && end - (p + n + 1) >= 8) {
            memcpy(&c, p + n + 1, 8);
            f = leading_digits(c);
            after = f < 8 ? p[n + 1 + f] : '0';
        }
        if (n < 16 && (!point || (f > 0 && f < 8)) && after != 'e' && after != 'E' && n + f < 19) {
            const uint8_t *past = p + n + (point ? 1 + f : 0);
            if (value != NULL) {
                uint64_t m = n <= 8 ? digits_value(a, n) : digits_value(a, 8) * integer_powers_of_ten[n - 8] + digits_value(b, n - 8);
                if (f > 0) m = m * integer_powers_of_ten[f] + digits_value(c, f);
                if (m < (1ull << 53)) {
                    double v = (double)m / powers_of_ten[f];
                    *value = negative ? -v : v;
                } else {
                    *value = token_value(start, past);
                }
            }
            return past;
        }
    }
#endif
    // The digits after a leading "0." or before the point and after, as one integer (wrapping past 19 digits,
    // where it is not used).
    uint64_t mantissa = 0;
    intptr_t digits = 0, fraction_digits = 0;
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p)) return NULL; // a leading zero
    } else {
        const uint8_t *first = p;
        p = fold_digits(p, end, &mantissa);
        digits = p - first;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) return NULL;
        const uint8_t *first = p;
        p = fold_digits(p, end, &mantissa);
        fraction_digits = p - first;
        digits += fraction_digits;
    }
    bool exponent = false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        exponent = true;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return NULL;
        while (p < end && is_digit(*p)) p++;
    }
    if (exponent || digits >= 19) {
        // Out of Double's range is not a number any JSON parser here accepts.
        if (value == NULL) return token_is_finite(start, p) ? p : NULL;
        double v = token_value(start, p);
        if (!isfinite(v)) return NULL;
        *value = v;
        return p;
    }
    if (value == NULL) return p;
    // Clinger's fast path: an exact mantissa below 2^53 divided by an exact power of ten is correctly rounded.
    if (mantissa < (1ull << 53)) {
        double v = (double)mantissa / powers_of_ten[fraction_digits];
        *value = negative ? -v : v;
    } else {
        *value = token_value(start, p);
    }
    return p;
}

// Past the value at p (validated, nothing kept), or NULL when it is invalid.
static const uint8_t *skip_value(const scan_line *s, const uint8_t *p, intptr_t depth) {
    const uint8_t *end = s->end;
    if (p >= end || depth >= s->max_depth) return NULL;
    bool escaped = false;
    switch (*p) {
    case '"':
        p = string_end(s, p + 1, &escaped);
        return p ? p + 1 : NULL;
    case 't': return literal(p, end, "true", 4);
    case 'f': return literal(p, end, "false", 5);
    case 'n': return literal(p, end, "null", 4);
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        return number(p, end, NULL);
    case '[':
        p = skip_ws(p + 1, end);
        if (p < end && *p == ']') return p + 1;
        for (;;) {
            p = skip_value(s, skip_ws(p, end), depth + 1);
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ',') { p++; continue; }
            return *p == ']' ? p + 1 : NULL;
        }
    case '{':
        p = skip_ws(p + 1, end);
        if (p < end && *p == '}') return p + 1;
        for (;;) {
            p = skip_ws(p, end);
            if (p >= end || *p != '"') return NULL;
            p = string_end(s, p + 1, &escaped);
            if (p == NULL) return NULL;
            p = skip_ws(p + 1, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_value(s, skip_ws(p + 1, end), depth + 1);
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ',') { p++; continue; }
            return *p == '}' ? p + 1 : NULL;
        }
    default:
        return NULL;
    }
}

typedef struct {
    const uint8_t *names;
    const intptr_t *starts, *lengths;
    intptr_t count;
    const cscan_names_index *index;
} wanted_names;

static inline unsigned bucket(const uint8_t *name, intptr_t length) {
    return length == 0 ? 0 : ((unsigned)length * 5 + name[0] * 3 + name[length - 1]) & 63;
}

void cscan_index_names(const uint8_t *names, const intptr_t *starts, const intptr_t *lengths, intptr_t count,
                       cscan_names_index *index) {
    memset(index, 0, sizeof *index);
    for (intptr_t k = 0; k < count; k++) index->longest = lengths[k] > index->longest ? lengths[k] : index->longest;
    index->indexed = count <= 64;
    if (!index->indexed) return;
    for (intptr_t k = count - 1; k >= 0; k--) {
        unsigned b = bucket(names + starts[k], lengths[k]);
        index->next[k] = index->first[b];
        index->first[b] = (uint8_t)(k + 1);
    }
}

static inline bool same_bytes(const uint8_t *a, const uint8_t *b, intptr_t n) {
    uint64_t x, y, x2, y2;
    if (n >= 8 && n <= 16) { // the first eight bytes and the last eight (overlapping)
        memcpy(&x, a, 8); memcpy(&y, b, 8); memcpy(&x2, a + n - 8, 8); memcpy(&y2, b + n - 8, 8);
        return ((x ^ y) | (x2 ^ y2)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t u, v, u2, v2;
        memcpy(&u, a, 4); memcpy(&v, b, 4); memcpy(&u2, a + n - 4, 4); memcpy(&v2, b + n - 4, 4);
        return ((u ^ v) | (u2 ^ v2)) == 0;
    }
    if (n > 16) return memcmp(a, b, (size_t)n) == 0;
    for (intptr_t k = 0; k < n; k++) {
        if (a[k] != b[k]) return false;
    }
    return true;
}

// The slot of a key: the first wanted name of its bytes, or -1.
static inline __attribute__((always_inline)) intptr_t match(const wanted_names *w, const uint8_t *key, intptr_t length) {
    if (w->index->indexed) {
        for (unsigned k = w->index->first[bucket(key, length)]; k != 0; k = w->index->next[k - 1]) {
            if (w->lengths[k - 1] == length && same_bytes(w->names + w->starts[k - 1], key, length)) return (intptr_t)k - 1;
        }
        return -1;
    }
    for (intptr_t k = 0; k < w->count; k++) {
        if (w->lengths[k] == length && same_bytes(w->names + w->starts[k], key, length)) return k;
    }
    return -1;
}

static int utf8_encode(uint32_t u, uint8_t *out) {
    if (u < 0x80) { out[0] = (uint8_t)u; return 1; }
    if (u < 0x800) { out[0] = (uint8_t)(0xC0 | u >> 6); out[1] = (uint8_t)(0x80 | (u & 0x3F)); return 2; }
    if (u < 0x10000) {
        out[0] = (uint8_t)(0xE0 | u >> 12); out[1] = (uint8_t)(0x80 | (u >> 6 & 0x3F)); out[2] = (uint8_t)(0x80 | (u & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | u >> 18); out[1] = (uint8_t)(0x80 | (u >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (u >> 6 & 0x3F)); out[3] = (uint8_t)(0x80 | (u & 0x3F));
    return 4;
}

// The slot of a key written with escapes (`"em\u0061il"`), decoded first. The key (p..<e) is valid already.
static intptr_t match_escaped(const wanted_names *w, const uint8_t *p, const uint8_t *e) {
    intptr_t longest = w->index->longest;
    uint8_t small[256];
    uint8_t *key = longest <= (intptr_t)sizeof small ? small : malloc((size_t)longest);
    if (key == NULL) abort();
    intptr_t n = 0;
    while (p < e && n <= longest) {
        uint8_t unit[4];
        int k = 1;
        if (*p != '\\') {
            unit[0] = *p++;
        } else {
            uint8_t x = p[1];
            p += 2;
            switch (x) {
            case 'b': unit[0] = 0x08; break;
            case 'f': unit[0] = 0x0C; break;
            case 'n': unit[0] = 0x0A; break;
            case 'r': unit[0] = 0x0D; break;
            case 't': unit[0] = 0x09; break;
            case 'u': {
                uint32_t u = (uint32_t)hex4(p, e);
                p += 4;
                if (u >= 0xD800 && u < 0xDC00) {
                    u = 0x10000 + ((u - 0xD800) << 10) + ((uint32_t)hex4(p + 2, e) - 0xDC00);
                    p += 6;
                }
                k = utf8_encode(u, unit);
                break;
            }
            default: unit[0] = x; break; // '"', '\\', '/'
            }
        }
        if (n + k > longest) { n = longest + 1; break; } // longer than every name
        memcpy(key + n, unit, (size_t)k);
        n += k;
    }
    intptr_t slot = n > longest ? -1 : match(w, key, n);
    if (key != small) free(key);
    return slot;
}

bool cscan_fields(const uint8_t *line, intptr_t length, const uint8_t *names, const intptr_t *starts,
                  const intptr_t *lengths, intptr_t count, const cscan_names_index *index, cscan_field *out,
                  intptr_t max_depth) {
    for (intptr_t k = 0; k < count; k++) out[k].kind = CSCAN_MISSING;
    if (line == NULL || length <= 0) return false;
    const scan_line s = {line, line + length, max_depth};
    const wanted_names w = {names, starts, lengths, count, index};
    const uint8_t *end = s.end;
    const uint8_t *p = skip_ws(line, end);
    if (p >= end || *p != '{') return false;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return skip_ws(p + 1, end) == end;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"') return false;
        const uint8_t *key = p + 1;
        bool escaped = false;
        const uint8_t *key_end = string_end(&s, key, &escaped);
        if (key_end == NULL) return false;
        p = skip_ws(key_end + 1, end);
        if (p >= end || *p != ':') return false;
        p = skip_ws(p + 1, end);
        intptr_t slot = escaped ? match_escaped(&w, key, key_end) : match(&w, key, key_end - key);
        if (p >= end) return false;
        const uint8_t c = *p;
        if (slot < 0) {
            // Strings and numbers here, the rest in skip_value (where a depth limit of 1 would refuse them all).
            bool escaped_value = false;
            if (c == '"' && max_depth > 1) {
                p = string_end(&s, p + 1, &escaped_value);
                if (p == NULL) return false;
                p++;
            } else if ((c == '-' || is_digit(c)) && max_depth > 1) {
                if ((p = number(p, end, NULL)) == NULL) return false;
            } else if ((p = skip_value(&s, p, 1)) == NULL) {
                return false;
            }
        } else {
            cscan_field *f = &out[slot];
            if (c == '"') {
                bool string_escaped = false;
                const uint8_t *e = string_end(&s, p + 1, &string_escaped);
                if (e == NULL) return false;
                f->kind = CSCAN_STRING;
                f->start = p + 1 - line;
                f->end = e - line;
                f->escaped = string_escaped;
                p = e + 1;
            } else if (c == '-' || is_digit(c)) {
                double v;
                if ((p = number(p, end, &v)) == NULL) return false;
                f->kind = CSCAN_NUMBER;
                f->number = v;
            } else if (c == 't' || c == 'f') {
                if ((p = c == 't' ? literal(p, end, "true", 4) : literal(p, end, "false", 5)) == NULL) return false;
                f->kind = CSCAN_BOOL;
                f->boolean = c == 't';
            } else if (c == 'n') {
                if ((p = literal(p, end, "null", 4)) == NULL) return false;
                f->kind = CSCAN_NULL;
            } else {
                if ((p = skip_value(&s, p, 1)) == NULL) return false;
                f->kind = CSCAN_NESTED;
            }
        }
        p = skip_ws(p, end);
        if (p >= end) return false;
        if (*p == ',') { p++; continue; }
        return *p == '}' && skip_ws(p + 1, end) == end;
    }
}

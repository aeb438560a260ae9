#ifndef CSCAN_H
#define CSCAN_H
// Byte-search primitives for the export prefilter. memmem and memrchr are GNU extensions that
// Swift's Glibc module does not export, so they are reached through these inline wrappers.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stddef.h>
#include <string.h>

static inline const void *cscan_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len) {
    return memmem(haystack, haystack_len, needle, needle_len);
}

static inline const void *cscan_memrchr(const void *s, int c, size_t n) {
#if defined(__GLIBC__)
    return memrchr(s, c, n);
#else
    const unsigned char *p = (const unsigned char *)s + n;
    while (p > (const unsigned char *)s) {
        if (*--p == (unsigned char)c) return p;
    }
    return NULL;
#endif
}
#endif

#ifndef CSCAN_CRC_H
#define CSCAN_CRC_H
// zlib's CRC-32 (the zip checksum), several times faster than a table-driven Swift loop.
unsigned long cscan_crc32(unsigned long crc, const unsigned char *buf, size_t len);
// The number of '\n' bytes in buf (vectorized by the compiler).
size_t cscan_count_newlines(const unsigned char *buf, size_t len);
#endif

#ifndef CSCAN_FIELDS_H
#define CSCAN_FIELDS_H
#include <stdbool.h>
#include <stdint.h>
// What `cscan_fields` found for one wanted field (FieldScanner's ScannedField, as C can hold it).
#define CSCAN_MISSING 0
#define CSCAN_NULL 1
#define CSCAN_BOOL 2
#define CSCAN_NUMBER 3
#define CSCAN_STRING 4 // start..<end: the bytes between the quotes (offsets into the line); escaped: it has a backslash
#define CSCAN_NESTED 5 // an object or an array
typedef struct {
    double number;
    intptr_t start, end;
    uint8_t kind, escaped, boolean;
} cscan_field;

// The wanted names' index for cscan_fields, made once by cscan_index_names.
typedef struct {
    intptr_t longest; // the longest name's length
    bool indexed;     // at most 64 names: first and next hold them
    // Slot + 1 of the first name of each hash bucket (of length, first and last byte) and of the next name in the
    // same bucket, in slot order; 0 for none.
    uint8_t first[64], next[64];
} cscan_names_index;

void cscan_index_names(const uint8_t *names, const intptr_t *starts, const intptr_t *lengths, intptr_t count,
                       cscan_names_index *index);

// Validates `line` as one strict JSON object (RFC 8259: UTF-8, no lone surrogates, values nested fewer than
// `max_depth` levels below the object's members, numbers within Double's range) and extracts its top-level fields
// named in `names` (field k is names[starts[k] ..< starts[k] + lengths[k]], `index` made from them) into out[k]
// (CSCAN_MISSING when absent; the last occurrence of a repeated key wins; a name wanted twice fills its first slot
// only). Returns false when the line is not valid; `out` then holds what was read before the error. Allocates
// nothing unless a number token is longer than 127 bytes and needs strtod, or a wanted name is longer than 256 bytes
// and a key has escapes.
bool cscan_fields(const uint8_t *line, intptr_t length, const uint8_t *names, const intptr_t *starts,
                  const intptr_t *lengths, intptr_t count, const cscan_names_index *index, cscan_field *out,
                  intptr_t max_depth);
#endif

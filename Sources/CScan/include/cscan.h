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

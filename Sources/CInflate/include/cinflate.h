#ifndef CINFLATE_H
#define CINFLATE_H
// Raw-deflate inflaters for the export reader: zlib (linked) and Intel ISA-L (loaded at run time with dlopen,
// so the binary starts without libisal and falls back to zlib). One streaming interface for both.
#include <stddef.h>
#include <stdint.h>

#define CINFLATE_ZLIB 0
#define CINFLATE_ISAL 1

#define CINFLATE_OK 0     // progress made (or none possible without more input / output room): call again
#define CINFLATE_END 1    // the deflate stream ended
#define CINFLATE_ERROR -1 // invalid deflate data

typedef struct cinflate_stream cinflate_stream;

/// Loads ISA-L once (libisal.so.2, then libisal.so). 1 when usable, else 0; cinflate_isal_error says why.
int cinflate_isal_load(void);
const char *cinflate_isal_error(void);

/// A new raw-deflate stream (NULL when out of memory or ISA-L is not loaded). `fused_crc`: the inflater tracks
/// the CRC-32 of its output itself (ISA-L only; read it with cinflate_stream_crc).
cinflate_stream *cinflate_new(int kind, int fused_crc);
void cinflate_free(cinflate_stream *s);

/// Inflates from `in` into `out`; reports the bytes taken and made. Never blocks, never loops.
int cinflate_run(cinflate_stream *s, const unsigned char *in, size_t in_len, size_t *in_used,
                 unsigned char *out, size_t out_len, size_t *out_made);

/// The CRC-32 of everything inflated so far, when the stream tracks it (returns 1), else 0.
int cinflate_stream_crc(const cinflate_stream *s, uint32_t *crc);

/// CRC-32 (the zip/gzip one), chainable from 0: zlib's or ISA-L's (when loaded).
uint32_t cinflate_crc32(int kind, uint32_t crc, const unsigned char *buf, size_t len);

#endif

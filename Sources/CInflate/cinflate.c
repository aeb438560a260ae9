#include "cinflate.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
// Only for the layout of struct inflate_state and the constants: nothing of libisal is linked.
#include <isa-l/igzip_lib.h>

typedef void (*isal_inflate_init_fn)(struct inflate_state *);
typedef int (*isal_inflate_fn)(struct inflate_state *);
typedef uint32_t (*crc32_gzip_refl_fn)(uint32_t, const unsigned char *, uint64_t);

static pthread_once_t isal_once = PTHREAD_ONCE_INIT;
static isal_inflate_init_fn p_isal_inflate_init;
static isal_inflate_fn p_isal_inflate;
static crc32_gzip_refl_fn p_crc32_gzip_refl;
static char isal_error[512];

static void isal_load_once(void) {
#if defined(__APPLE__)
    static const char *names[] = {"libisal.2.dylib", "libisal.dylib", "/opt/homebrew/lib/libisal.dylib", "/usr/local/lib/libisal.dylib"};
#else
    static const char *names[] = {"libisal.so.2", "libisal.so"};
#endif
    void *h = NULL;
    const char *why = "not found";
    // AUTH_DOCTOR_ISAL_LIBRARY names the one file to load instead (tests use a missing one for the fallback).
    const char *only = getenv("AUTH_DOCTOR_ISAL_LIBRARY");
    if (only && *only) {
        h = dlopen(only, RTLD_NOW | RTLD_LOCAL);
        if (!h) why = dlerror();
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !h && !(only && *only); i++) {
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) why = dlerror();
    }
    if (!h) {
        snprintf(isal_error, sizeof isal_error, "%s", why ? why : "dlopen failed");
        return;
    }
    isal_inflate_init_fn init = (isal_inflate_init_fn)dlsym(h, "isal_inflate_init");
    isal_inflate_fn inflate = (isal_inflate_fn)dlsym(h, "isal_inflate");
    crc32_gzip_refl_fn crc = (crc32_gzip_refl_fn)dlsym(h, "crc32_gzip_refl");
    if (!init || !inflate || !crc) {
        snprintf(isal_error, sizeof isal_error, "the loaded libisal lacks isal_inflate or crc32_gzip_refl");
        return;
    }
    p_crc32_gzip_refl = crc;
    p_isal_inflate = inflate;
    p_isal_inflate_init = init;
}

int cinflate_isal_load(void) {
    pthread_once(&isal_once, isal_load_once);
    return p_isal_inflate_init != NULL;
}

const char *cinflate_isal_error(void) {
    cinflate_isal_load();
    return isal_error;
}

struct cinflate_stream {
    int kind;
    int fused_crc;
    z_stream z;
    struct inflate_state *isal;
};

cinflate_stream *cinflate_new(int kind, int fused_crc) {
    cinflate_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->kind = kind;
    if (kind == CINFLATE_ISAL) {
        if (!cinflate_isal_load()) { free(s); return NULL; }
        // Room past the struct this header knows: a later libisal.so.2 may have grown it at the end.
        s->isal = calloc(1, sizeof *s->isal + 65536);
        if (!s->isal) { free(s); return NULL; }
        p_isal_inflate_init(s->isal);
        s->isal->crc_flag = fused_crc ? ISAL_GZIP_NO_HDR : ISAL_DEFLATE;
        s->isal->hist_bits = 0;
        s->fused_crc = fused_crc ? 1 : 0;
        return s;
    }
    if (inflateInit2(&s->z, -MAX_WBITS) != Z_OK) { free(s); return NULL; }
    return s;
}

void cinflate_free(cinflate_stream *s) {
    if (!s) return;
    if (s->isal) free(s->isal);
    else inflateEnd(&s->z);
    free(s);
}

int cinflate_run(cinflate_stream *s, const unsigned char *in, size_t in_len, size_t *in_used,
                 unsigned char *out, size_t out_len, size_t *out_made) {
    // Both take 32-bit lengths; the reader's buffers are 1 MiB.
    if (in_len > 0x40000000u) in_len = 0x40000000u;
    if (out_len > 0x40000000u) out_len = 0x40000000u;
    *in_used = 0;
    *out_made = 0;
    if (s->isal) {
        struct inflate_state *st = s->isal;
        if (st->block_state == ISAL_BLOCK_FINISH) return CINFLATE_END;
        st->next_in = (uint8_t *)in;
        st->avail_in = (uint32_t)in_len;
        st->next_out = out;
        st->avail_out = (uint32_t)out_len;
        int r = p_isal_inflate(st);
        *in_used = in_len - st->avail_in;
        *out_made = out_len - st->avail_out;
        if (r < 0) return CINFLATE_ERROR;
        return st->block_state == ISAL_BLOCK_FINISH ? CINFLATE_END : CINFLATE_OK;
    }
    s->z.next_in = (Bytef *)in;
    s->z.avail_in = (uInt)in_len;
    s->z.next_out = out;
    s->z.avail_out = (uInt)out_len;
    int r = inflate(&s->z, Z_NO_FLUSH);
    *in_used = in_len - s->z.avail_in;
    *out_made = out_len - s->z.avail_out;
    switch (r) {
    case Z_STREAM_END: return CINFLATE_END;
    case Z_OK: case Z_BUF_ERROR: return CINFLATE_OK;
    default: return CINFLATE_ERROR;
    }
}

int cinflate_stream_crc(const cinflate_stream *s, uint32_t *crc) {
    if (!s->isal || !s->fused_crc) return 0;
    *crc = s->isal->crc;
    return 1;
}

uint32_t cinflate_crc32(int kind, uint32_t crc, const unsigned char *buf, size_t len) {
    if (kind == CINFLATE_ISAL && cinflate_isal_load()) return p_crc32_gzip_refl(crc, buf, len);
    while (len > 0) {
        unsigned int n = len > 0x40000000u ? 0x40000000u : (unsigned int)len;
        crc = (uint32_t)crc32(crc, buf, n);
        buf += n;
        len -= n;
    }
    return crc;
}

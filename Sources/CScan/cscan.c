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

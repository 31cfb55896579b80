#include "ogg_crc.h"

void ogg_crc_init(uint32_t table[256])
{
    /* CRC-32, polynomial 0x04c11db7, not reflected, initial value 0. */
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i << 24;
        for (int k = 0; k < 8; k++)
            r = r & 0x80000000u ? (r << 1) ^ 0x04c11db7u : r << 1;
        table[i] = r;
    }
}

uint32_t ogg_page_crc(const uint32_t table[256], const unsigned char *page, size_t len)
{
    uint32_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (i >= 22 && i < 26) ? 0 : page[i];
        crc = (crc << 8) ^ table[((crc >> 24) ^ b) & 0xff];
    }
    return crc;
}

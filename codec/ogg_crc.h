/* The Ogg page checksum (private to the codec). */
#ifndef JIASHU_CODEC_OGG_CRC_H
#define JIASHU_CODEC_OGG_CRC_H

#include <stddef.h>
#include <stdint.h>

void ogg_crc_init(uint32_t table[256]);
/* The CRC of a whole page, its own CRC field (bytes 22..25) counted as
 * zeros, as the page header stores it. */
uint32_t ogg_page_crc(const uint32_t table[256], const unsigned char *page, size_t len);

#endif

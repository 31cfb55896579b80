/*
 * SHA-256 for the checksums of voice notes, through Nettle: a small library
 * with no providers to load, so a recording's first digest costs no
 * memory worth counting (OpenSSL's first digest loads about 2 MB).
 */
#include <nettle/sha2.h>

#include "internal.h"

int js_sha256_hex(const unsigned char *data, size_t len, char *out)
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];

    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, sizeof(digest), digest);
    ju_hex_encode(digest, sizeof(digest), out);
    return 0;
}

/*
 * SHA-256 for the checksums of voice notes, through libsodium: the one
 * crypto library of the client program (end-to-end encryption needs it
 * anyway), with no providers to load, so a recording's first digest costs
 * no memory worth counting (OpenSSL's first digest loads about 2 MB).
 */
#include <sodium.h>

#include "internal.h"

int js_sha256_hex(const unsigned char *data, size_t len, char *out)
{
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(digest, data, len);
    ju_hex_encode(digest, sizeof(digest), out);
    return 0;
}

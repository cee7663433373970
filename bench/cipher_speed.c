/* bench/cipher_speed.c -- how fast mbedTLS encrypts TLS records with a cipher suite's AEAD
 * cipher: 16 KiB records (the TLS maximum), a fresh nonce and the 13-byte TLS 1.2 additional
 * data per record, for SECONDS (default 1) in ten samples, of which the fastest counts (the
 * machine is shared: the floor is what the cipher allows, not what the others left of it). The
 * cipher floor of a bulk transfer is its bytes on the wire divided by this speed.
 *   cipher_speed SUITE [SECONDS]     e.g. TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256
 * Prints "cipher=NAME mbps=M" (MB/s, 10^6 bytes); exits 1 when the suite has no AEAD cipher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/cipher.h>
#include <mbedtls/ssl_ciphersuites.h>

#include "common.h"

#define RECORD 16384

int main(int argc, char **argv)
{
    static unsigned char in[RECORD], out[RECORD + 16], key[32], iv[12], ad[13];
    const mbedtls_ssl_ciphersuite_t *suite;
    const mbedtls_cipher_info_t *info;
    mbedtls_cipher_context_t ctx;
    double seconds = argc > 2 ? atof(argv[2]) : 1.0, best = 0;
    uint64_t nonce = 0;
    int sample;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: cipher_speed SUITE [SECONDS]\n");
        return 2;
    }
    suite = mbedtls_ssl_ciphersuite_from_string(argv[1]);
    info = suite ? mbedtls_cipher_info_from_type(suite->cipher) : NULL;
    if (!info || (info->mode != MBEDTLS_MODE_GCM && info->mode != MBEDTLS_MODE_CCM &&
                  info->mode != MBEDTLS_MODE_CHACHAPOLY)) {
        fprintf(stderr, "cipher_speed: %s: not a suite with an AEAD cipher\n", argv[1]);
        return 1;
    }
    mbedtls_cipher_init(&ctx);
    memset(in, 'x', sizeof in);
    if (mbedtls_cipher_setup(&ctx, info) || mbedtls_cipher_setkey(&ctx, key, (int)info->key_bitlen, MBEDTLS_ENCRYPT))
        return 1;
    for (sample = 0; sample < 10; sample++) {
        double t0 = bench_now(), t;
        uint64_t bytes = 0;
        do {
            int i;
            for (i = 0; i < 16; i++) {
                size_t olen;
                nonce++;
                memcpy(iv + 4, &nonce, 8);
                memcpy(ad, &nonce, 8);
                if (mbedtls_cipher_auth_encrypt_ext(&ctx, iv, sizeof iv, ad, sizeof ad, in, RECORD, out,
                                                    sizeof out, &olen, 16))
                    return 1;
                bytes += RECORD;
            }
            t = bench_now() - t0;
        } while (t < seconds / 10);
        if ((double)bytes / t > best) best = (double)bytes / t;
    }
    printf("cipher=%s mbps=%.1f\n", info->name, best / 1e6);
    mbedtls_cipher_free(&ctx);
    return 0;
}

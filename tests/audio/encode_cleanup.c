/*
 * Encodes a WAV file with a chosen speech clean-up, for measuring one
 * against another in the same run:
 *
 *   encode_cleanup off|adaptive|always IN.wav OUT.opus
 *
 * "always" is the clean-up as it was before it adapted (JC_CLEANUP_ALWAYS),
 * reachable only from here and the library, not from the jiashu program.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"

static int write_file(void *user, const unsigned char *bytes, size_t len)
{
    return fwrite(bytes, 1, len, user) == len ? 0 : -EIO;
}

int main(int argc, char **argv)
{
    struct jc_encoder_config config = {0};
    jc_wav_reader *reader = NULL;
    jc_encoder *enc = NULL;
    float pcm[4096];
    size_t got;
    FILE *out = NULL;
    int res;

    if (argc != 4) {
        fprintf(stderr, "usage: encode_cleanup off|adaptive|always IN.wav OUT.opus\n");
        return 2;
    }
    if (!strcmp(argv[1], "off"))
        config.cleanup = JC_CLEANUP_OFF;
    else if (!strcmp(argv[1], "adaptive"))
        config.cleanup = JC_CLEANUP_ADAPTIVE;
    else if (!strcmp(argv[1], "always"))
        config.cleanup = JC_CLEANUP_ALWAYS;
    else {
        fprintf(stderr, "encode_cleanup: no clean-up called '%s'\n", argv[1]);
        return 2;
    }
    if ((res = jc_wav_reader_create(argv[2], &reader)) < 0)
        goto out;
    config.input_rate = jc_wav_reader_rate(reader);
    if (!(out = fopen(argv[3], "wb"))) {
        res = -errno;
        goto out;
    }
    if ((res = jc_encoder_create(&config, write_file, out, &enc)) < 0)
        goto out;
    while ((res = jc_wav_reader_read(reader, pcm, sizeof(pcm) / sizeof(*pcm), &got)) == 0 &&
           got > 0)
        if ((res = jc_encoder_write(enc, pcm, got)) < 0)
            goto out;
    if (res == 0)
        res = jc_encoder_finish(enc);
out:
    jc_encoder_destroy(enc);
    jc_wav_reader_destroy(reader);
    if (out && fclose(out) != 0 && res == 0)
        res = -EIO;
    if (res < 0) {
        fprintf(stderr, "encode_cleanup: %s\n", ju_strerror(res));
        return 1;
    }
    return 0;
}

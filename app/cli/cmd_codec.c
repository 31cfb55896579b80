/*
 * jiashu encode / decode: a WAV file to a voice note and back. The output
 * is written under a temporary name and renamed when complete, so a failed
 * run never leaves a half-written file under the name asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"

#include "commands.h"
#include "util/util.h"

#define READ_FRAMES 4096

struct output {
    const char *path;
    char tmp[4096];
    FILE *file;
};

static int write_bytes(void *user, const unsigned char *bytes, size_t len)
{
    struct output *out = user;

    errno = 0;
    if (fwrite(bytes, 1, len, out->file) != len)
        return errno ? -errno : -EIO;
    return 0;
}

static int make_tmp_name(struct output *out, const char *path)
{
    out->path = path;
    if ((size_t)snprintf(out->tmp, sizeof(out->tmp), "%s.part", path) >= sizeof(out->tmp))
        return -ENAMETOOLONG;
    return 0;
}

static int parse_bitrate(const char *text, int *bitrate)
{
    int64_t v;

    if (ju_parse_i64(text, JC_MIN_BITRATE, JC_MAX_BITRATE, &v) < 0)
        return JC_ERR_BITRATE;
    *bitrate = (int)v;
    return 0;
}

static int encode_file(const char *in_path, struct output *out,
                       const struct jc_encoder_config *base, const char **failed_path)
{
    struct jc_encoder_config config = *base;
    jc_wav_reader *reader;
    jc_encoder *enc;
    float pcm[READ_FRAMES];
    size_t got;
    int res;

    *failed_path = in_path;
    if ((res = jc_wav_reader_create(in_path, &reader)) < 0)
        return res;
    config.input_rate = jc_wav_reader_rate(reader);
    /* The encoder would stop at the limit anyway; a header that announces
     * more saves encoding ten minutes first. */
    if (jc_wav_reader_frames(reader) > (uint64_t)JC_MAX_NOTE_SECONDS * config.input_rate) {
        res = JC_ERR_TOO_LONG;
        goto error_reader;
    }
    *failed_path = NULL;
    if ((res = jc_encoder_create(&config, write_bytes, out, &enc)) < 0)
        goto error_reader;
    *failed_path = out->path;
    out->file = fopen(out->tmp, "wb");
    if (!out->file) {
        res = -errno;
        goto error_encoder;
    }
    for (;;) {
        *failed_path = in_path;
        if ((res = jc_wav_reader_read(reader, pcm, READ_FRAMES, &got)) < 0)
            goto error_file;
        if (got == 0)
            break;
        *failed_path = out->path;
        if ((res = jc_encoder_write(enc, pcm, got)) < 0)
            goto error_file;
    }
    /* A WAV with no samples is an input problem, named after the input. */
    *failed_path = in_path;
    if ((res = jc_encoder_finish(enc)) < 0)
        goto error_file;
    *failed_path = out->path;
    if (fflush(out->file) != 0 || fsync(fileno(out->file)) != 0) {
        res = -errno;
        goto error_file;
    }
    res = fclose(out->file) != 0 ? -errno : 0;
    out->file = NULL;
    if (res == 0 && rename(out->tmp, out->path) != 0)
        res = -errno;
    if (res < 0)
        unlink(out->tmp);
    jc_encoder_destroy(enc);
    jc_wav_reader_destroy(reader);
    return res;

error_file:
    fclose(out->file);
    out->file = NULL;
    unlink(out->tmp);
error_encoder:
    jc_encoder_destroy(enc);
error_reader:
    jc_wav_reader_destroy(reader);
    return res;
}

int cmd_encode(const struct app_context *ctx, int argc, char **argv)
{
    struct jc_encoder_config config = {.cleanup = true};
    const char *paths[2] = {NULL, NULL}, *failed;
    struct output out = {0};
    int npaths = 0, res;

    for (int i = 1; i < argc; i++) {
        const char *value = NULL;

        if (!strcmp(argv[i], "--bitrate")) {
            if (i + 1 >= argc)
                return app_usage("encode: --bitrate needs a number of bit/s");
            value = argv[++i];
        } else if (!strncmp(argv[i], "--bitrate=", 10)) {
            value = argv[i] + 10;
        } else if (!strcmp(argv[i], "--no-cleanup")) {
            config.cleanup = false;
            continue;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return app_usage("encode: unknown option '%s'", argv[i]);
        } else if (npaths < 2) {
            paths[npaths++] = argv[i];
            continue;
        } else {
            return app_usage("encode: too many arguments");
        }
        if (parse_bitrate(value, &config.bitrate) < 0)
            return app_usage("encode: bad --bitrate '%s': give %d to %d bit/s", value,
                             JC_MIN_BITRATE, JC_MAX_BITRATE);
    }
    if (npaths != 2)
        return app_usage("encode needs IN.wav and OUT.opus");
    if ((res = make_tmp_name(&out, paths[1])) < 0)
        return app_fail("%s: %s", paths[1], app_strerror(res));
    res = encode_file(paths[0], &out, &config, &failed);
    if (res < 0) {
        if (failed)
            return app_fail("%s: %s", failed, app_strerror(res));
        return app_fail("encode: %s", app_strerror(res));
    }
    return 0;
}

/* Reads a whole file, refusing anything larger than a voice note can be
 * before reading it. */
static int read_note(const char *path, unsigned char **data, size_t *len)
{
    struct stat st;
    unsigned char *buf;
    size_t n;
    FILE *f;
    int res;

    f = fopen(path, "rb");
    if (!f)
        return -errno;
    if (fstat(fileno(f), &st) != 0) {
        res = -errno;
        goto error_file;
    }
    if (!S_ISREG(st.st_mode)) {
        res = -EINVAL;
        goto error_file;
    }
    if ((uint64_t)st.st_size > JC_MAX_NOTE_BYTES) {
        res = JC_ERR_TOO_LONG;
        goto error_file;
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        res = -ENOMEM;
        goto error_file;
    }
    n = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        res = -EIO;
        goto error_buf;
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;

error_buf:
    free(buf);
error_file:
    fclose(f);
    return res;
}

static int decode_to(jc_decoder *dec, struct output *out)
{
    jc_wav_writer *w;
    int16_t pcm[READ_FRAMES];
    size_t got;
    int res;

    if ((res = jc_wav_writer_create(out->tmp, jc_decoder_rate(dec), &w)) < 0)
        return res;
    for (;;) {
        if ((res = jc_decoder_read(dec, pcm, READ_FRAMES, &got)) < 0)
            goto error_writer;
        if (got == 0)
            break;
        if ((res = jc_wav_writer_write(w, pcm, got)) < 0)
            goto error_writer;
    }
    res = jc_wav_writer_finish(w);
    if (res == 0 && rename(out->tmp, out->path) != 0)
        res = -errno;

error_writer:
    jc_wav_writer_destroy(w);
    if (res < 0)
        unlink(out->tmp);
    return res;
}

int cmd_decode(const struct app_context *ctx, int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    struct output out = {0};
    unsigned char *data = NULL;
    jc_decoder *dec;
    size_t len = 0;
    int npaths = 0, res;

    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return app_usage("decode: unknown option '%s'", argv[i]);
        if (npaths == 2)
            return app_usage("decode: too many arguments");
        paths[npaths++] = argv[i];
    }
    if (npaths != 2)
        return app_usage("decode needs IN.opus and OUT.wav");
    if ((res = make_tmp_name(&out, paths[1])) < 0)
        return app_fail("%s: %s", paths[1], app_strerror(res));
    if ((res = read_note(paths[0], &data, &len)) < 0)
        return app_fail("%s: %s", paths[0], app_strerror(res));
    if ((res = jc_decoder_create(data, len, &dec)) < 0) {
        free(data);
        return app_fail("%s: %s", paths[0], app_strerror(res));
    }
    res = decode_to(dec, &out);
    jc_decoder_destroy(dec);
    free(data);
    if (res < 0)
        return app_fail("%s: %s", paths[1], app_strerror(res));
    return 0;
}

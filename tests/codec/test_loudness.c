/*
 * Unit tests of the loudness meter and the playback gain, one behaviour per
 * invocation: test_loudness NAME. The meter is held to values that do not
 * come from its own code: BS.1770-4's definition (a full-scale 997 Hz sine
 * reads -3.01 LUFS), the frequency response of the K-weighting coefficients
 * the standard tabulates for 48 kHz, and EBU Tech 3341's gating case.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

#include "check.h"

/* Appends seconds of a sine of amplitude amp (1.0 = full scale) at hz. */
static float *sine(float *pcm, size_t *len, unsigned rate, double hz, double amp, double seconds)
{
    size_t n = (size_t)(seconds * rate);

    pcm = realloc(pcm, (*len + n) * sizeof(*pcm));
    CHECK(pcm);
    for (size_t i = 0; i < n; i++)
        pcm[*len + i] = (float)(amp * sin(2.0 * M_PI * hz * (double)i / rate));
    *len += n;
    return pcm;
}

static struct jc_loudness measure(const float *pcm, size_t len, unsigned rate)
{
    jc_loudness_meter *meter;
    struct jc_loudness l;

    CHECK(jc_loudness_meter_create(rate, &meter) == 0);
    /* In uneven pieces: the blocks must not depend on how samples come. */
    for (size_t at = 0, piece = 1; at < len; at += piece, piece = piece * 3 % 7919 + 1)
        jc_loudness_meter_add(meter, pcm + at, piece < len - at ? piece : len - at);
    CHECK(jc_loudness_meter_result(meter, &l) == 0);
    jc_loudness_meter_destroy(meter);
    return l;
}

/* A 997 Hz sine reads 3.01 dB under its peak level, at every rate a note
 * or a recording may have; the peak is the sine's amplitude. */
static void test_sine(void)
{
    const unsigned rates[] = {48000, 44100, 16000, 8000};

    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        for (double level = 0.0; level >= -40.0; level -= 20.0) {
            float *pcm = NULL;
            size_t len = 0;
            pcm = sine(pcm, &len, rates[r], 997.0, pow(10.0, level / 20.0), 10.0);
            struct jc_loudness l = measure(pcm, len, rates[r]);
            CHECK_NEAR(l.integrated_lufs, level - 3.01, 0.05);
            CHECK_NEAR(l.peak_dbfs, level, 0.01);
            free(pcm);
        }
    }
}

/* |H(f)| of a biquad given as BS.1770-4 tabulates it. */
static double response(const double b[3], const double a[3], double hz, double rate)
{
    double w = 2.0 * M_PI * hz / rate;
    double nr = b[0] + b[1] * cos(w) + b[2] * cos(2 * w), ni = -b[1] * sin(w) - b[2] * sin(2 * w);
    double dr = a[0] + a[1] * cos(w) + a[2] * cos(2 * w), di = -a[1] * sin(w) - a[2] * sin(2 * w);
    return sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
}

/* Tones across the band read what the standard's own 48 kHz coefficients
 * say they should: bass counts less, treble more. */
static void test_k_weighting(void)
{
    static const double shelf_b[] = {1.53512485958697, -2.69169618940638, 1.19839281085285};
    static const double shelf_a[] = {1.0, -1.69065929318241, 0.73248077421585};
    static const double hp_b[] = {1.0, -2.0, 1.0};
    static const double hp_a[] = {1.0, -1.99004745483398, 0.99007225036621};
    const double tones[] = {50.0, 100.0, 300.0, 1000.0, 3000.0, 6000.0, 12000.0};

    for (size_t t = 0; t < sizeof(tones) / sizeof(tones[0]); t++) {
        float *pcm = NULL;
        size_t len = 0;
        double k =
            response(shelf_b, shelf_a, tones[t], 48000) * response(hp_b, hp_a, tones[t], 48000);
        double expected = -0.691 + 10.0 * log10(0.5 * k * k) + 20.0 * log10(0.5);

        pcm = sine(pcm, &len, 48000, tones[t], 0.5, 5.0);
        CHECK_NEAR(measure(pcm, len, 48000).integrated_lufs, expected, 0.05);
        free(pcm);
    }
}

/* EBU Tech 3341, case 3 in mono: 10 s at -36, 60 s at -23 and 10 s at -36
 * LUFS read -23.0 (the relative gate drops the quiet parts), and silence
 * around it changes nothing (the absolute gate). */
static void test_gating(void)
{
    double quiet = pow(10.0, (-36.0 + 3.01) / 20.0), loud = pow(10.0, (-23.0 + 3.01) / 20.0);
    float *pcm = NULL;
    size_t len = 0;

    pcm = sine(pcm, &len, 48000, 997.0, quiet, 10.0);
    pcm = sine(pcm, &len, 48000, 997.0, loud, 60.0);
    pcm = sine(pcm, &len, 48000, 997.0, quiet, 10.0);
    CHECK_NEAR(measure(pcm, len, 48000).integrated_lufs, -23.0, 0.1);
    pcm = sine(pcm, &len, 48000, 997.0, 0.0, 30.0);
    CHECK_NEAR(measure(pcm, len, 48000).integrated_lufs, -23.0, 0.1);
    free(pcm);

    /* Nothing above -70 LUFS, or less than one 400 ms block: no loudness,
     * and no gain for it. */
    len = 0;
    pcm = sine(NULL, &len, 48000, 997.0, pow(10.0, -75.0 / 20.0), 5.0);
    struct jc_loudness l = measure(pcm, len, 48000);
    CHECK(l.integrated_lufs == JC_LOUDNESS_SILENT);
    CHECK(jc_loudness_gain_db(&l, JC_LOUDNESS_TARGET_LUFS) == 0.0);
    len = 0;
    pcm = sine(pcm, &len, 48000, 997.0, 0.5, 0.39);
    CHECK(measure(pcm, len, 48000).integrated_lufs == JC_LOUDNESS_SILENT);
    free(pcm);
}

/* The gain reaches the target, is held to what the limiter may take off
 * the peaks, and never changes a note by more than JC_MAX_BOOST_DB. */
static void test_gain_rule(void)
{
    struct jc_loudness quiet = {-38.0, -20.0}, peaky = {-30.0, -3.0}, whisper = {-65.0, -40.0};

    CHECK_NEAR(jc_loudness_gain_db(&quiet, -18.0), 20.0, 1e-9);
    /* peaks at -3 may rise to -1 + JC_MAX_LIMIT_DB */
    CHECK_NEAR(jc_loudness_gain_db(&peaky, -18.0), 2.0 + JC_MAX_LIMIT_DB, 1e-9);
    CHECK_NEAR(jc_loudness_gain_db(&whisper, -18.0), JC_MAX_BOOST_DB, 1e-9);
    struct jc_loudness loud = {-10.0, -0.1};
    CHECK_NEAR(jc_loudness_gain_db(&loud, -18.0), -8.0, 1e-9);
    /* whatever a damaged store says, the gain is one the decoder takes */
    struct jc_loudness absurd = {60.0, 90.0};
    CHECK_NEAR(jc_loudness_gain_db(&absurd, -18.0), -JC_MAX_BOOST_DB, 1e-9);
}

struct buf {
    unsigned char *data;
    size_t len;
};

static int buf_write(void *user, const unsigned char *bytes, size_t len)
{
    struct buf *b = user;

    b->data = realloc(b->data, b->len + len);
    CHECK(b->data);
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
    return 0;
}

/* A voice-like test note at 16 kHz: a 200 Hz buzz with harmonics in
 * syllables, pauses between them, and a click every second that stands
 * 12 dB above the rest, the kind of peak a limiter is for. */
static void make_note(double level_db, struct buf *note)
{
    const unsigned rate = 16000;
    size_t frames = rate * 8;
    float *pcm = calloc(frames, sizeof(*pcm));
    struct jc_encoder_config config = {.input_rate = rate, .cleanup = false};
    jc_encoder *enc;
    double amp = pow(10.0, level_db / 20.0);

    CHECK(pcm);
    for (size_t i = 0; i < frames; i++) {
        double t = (double)i / rate, syllable = fmod(t, 0.5);
        double v = 0.0;
        if (syllable < 0.3) {
            for (int h = 1; h <= 8; h++)
                v += sin(2.0 * M_PI * 200.0 * h * t) / h;
            v *= sin(M_PI * syllable / 0.3);
        }
        if (fmod(t, 1.0) < 0.002)
            v = 4.0 * sin(2.0 * M_PI * 1000.0 * t);
        pcm[i] = (float)(amp * 0.2 * v);
    }
    memset(note, 0, sizeof(*note));
    CHECK(jc_encoder_create(&config, buf_write, note, &enc) == 0);
    CHECK(jc_encoder_write(enc, pcm, frames) == 0);
    CHECK(jc_encoder_finish(enc) == 0);
    jc_encoder_destroy(enc);
    free(pcm);
}

/* Decodes the whole note with gain_db (none if 0 and !force) into a new
 * buffer; *frames receives its length. */
static int16_t *decode(const struct buf *note, double gain_db, size_t *frames, uint64_t seek)
{
    jc_decoder *dec;
    int16_t *pcm = NULL;
    size_t len = 0, got;

    CHECK(jc_decoder_create(note->data, note->len, &dec) == 0);
    CHECK(jc_decoder_set_gain(dec, gain_db) == 0);
    if (seek)
        CHECK(jc_decoder_seek(dec, seek) == 0);
    do {
        pcm = realloc(pcm, (len + 1000) * sizeof(*pcm));
        CHECK(pcm);
        CHECK(jc_decoder_read(dec, pcm + len, 1000, &got) == 0);
        len += got;
    } while (got > 0);
    CHECK(jc_decoder_set_gain(dec, 1.0) < 0); /* too late: something was read */
    jc_decoder_destroy(dec);
    *frames = len;
    return pcm;
}

static struct jc_loudness measure16(const int16_t *pcm, size_t len)
{
    float *f = malloc(len * sizeof(*f));
    CHECK(f);
    for (size_t i = 0; i < len; i++)
        f[i] = pcm[i] / 32768.0f;
    struct jc_loudness l = measure(f, len, JC_DECODE_RATE);
    free(f);
    return l;
}

/* Notes recorded 24 dB apart play at the target, as long as they were,
 * with no sample above the ceiling although the clicks needed the limiter;
 * a gain of 0 dB changes nothing; a seek keeps the gain. */
static void test_playback_gain(void)
{
    const double ceiling = 32768.0 * pow(10.0, JC_PEAK_CEILING_DBFS / 20.0);
    struct jc_note_info info;

    for (double level = 0.0; level >= -24.0; level -= 12.0) {
        struct buf note;
        struct jc_loudness before, after;
        size_t frames, plain_frames;
        int16_t *pcm, *plain;
        int peak = 0;

        make_note(level, &note);
        CHECK(jc_note_check(note.data, note.len, &info) == 0);
        CHECK(jc_note_loudness(note.data, note.len, &before) == 0);
        double gain = jc_loudness_gain_db(&before, JC_LOUDNESS_TARGET_LUFS);
        /* the clicks stand out: without the limiter this gain would clip */
        CHECK(before.peak_dbfs + gain > 0.0);
        pcm = decode(&note, gain, &frames, 0);
        CHECK(frames == info.samples);
        for (size_t i = 0; i < frames; i++)
            peak = abs(pcm[i]) > peak ? abs(pcm[i]) : peak;
        CHECK(peak <= (int)ceiling + 1);
        after = measure16(pcm, frames);
        CHECK_NEAR(after.integrated_lufs, JC_LOUDNESS_TARGET_LUFS, 0.5);
        fprintf(stderr,
                "level %+.0f dB: %.2f LUFS, peak %.2f dBFS -> gain %+.2f dB: %.2f LUFS, "
                "peak %.2f dBFS\n",
                level, before.integrated_lufs, before.peak_dbfs, gain, after.integrated_lufs,
                after.peak_dbfs);

        plain = decode(&note, 0.0, &plain_frames, 0);
        int16_t *reference = malloc(plain_frames * sizeof(*reference));
        jc_decoder *dec;
        size_t got;
        CHECK(reference && jc_decoder_create(note.data, note.len, &dec) == 0);
        CHECK(jc_decoder_read(dec, reference, plain_frames, &got) == 0 && got > 0);
        for (size_t at = got; at < plain_frames; at += got)
            CHECK(jc_decoder_read(dec, reference + at, plain_frames - at, &got) == 0 && got > 0);
        jc_decoder_destroy(dec);
        CHECK(plain_frames == info.samples && !memcmp(plain, reference, plain_frames * 2));
        free(reference);
        free(plain);

        /* resumed half way: the rest, at the same gain */
        int16_t *rest = decode(&note, gain, &plain_frames, info.samples / 2);
        CHECK(plain_frames == info.samples - info.samples / 2);
        struct jc_loudness rest_l = measure16(rest, plain_frames);
        CHECK_NEAR(rest_l.integrated_lufs, JC_LOUDNESS_TARGET_LUFS, 1.0);
        free(rest);
        free(pcm);
        free(note.data);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "sine"))
        test_sine();
    else if (argc == 2 && !strcmp(argv[1], "k_weighting"))
        test_k_weighting();
    else if (argc == 2 && !strcmp(argv[1], "gating"))
        test_gating();
    else if (argc == 2 && !strcmp(argv[1], "gain_rule"))
        test_gain_rule();
    else if (argc == 2 && !strcmp(argv[1], "playback_gain"))
        test_playback_gain();
    else {
        fprintf(stderr, "usage: test_loudness sine|k_weighting|gating|gain_rule|playback_gain\n");
        return 2;
    }
    return 0;
}

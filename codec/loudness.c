/*
 * Loudness as ITU-R BS.1770-4 measures it (the meter EBU R128 and every
 * streaming service use), and the playback gain derived from it.
 *
 * The K-weighting is BS.1770's two biquads, a high shelf (+4 dB above
 * about 1.5 kHz, the head's effect) and a high-pass (the "RLB" curve),
 * derived from their analogue prototypes for any rate so that 48 kHz gets
 * exactly the coefficients the standard tabulates. Loudness is gated over
 * 400 ms blocks that overlap by 75 %: blocks below -70 LUFS (silence) are
 * dropped, then blocks more than 10 LU below the loudness of the rest
 * (pauses, breaths, room noise), so the pauses of a voice note do not make
 * it measure quieter than its speech.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "biquad.h"
#include "codec.h"

#define BLOCK_SUBS    4 /* a 400 ms block is four 100 ms sub-blocks */
#define ABSOLUTE_GATE -70.0
#define RELATIVE_GATE -10.0
#define READ_FRAMES   5760 /* 120 ms at 48 kHz, the longest Opus packet */

struct jc_loudness_meter {
    struct biquad shelf, highpass;
    size_t sub_frames;       /* frames in 100 ms */
    size_t sub_fill;         /* frames in the sub-block being summed */
    double sub_sum;          /* its sum of squares */
    double subs[BLOCK_SUBS]; /* the last four sub-blocks' sums, a ring */
    uint64_t sub_count;      /* sub-blocks completed */
    double *blocks;          /* each 400 ms block's mean square */
    size_t block_count, block_cap;
    int error; /* -ENOMEM once a block could not be kept */
    float peak;
};

/* The analogue prototypes' constants (BS.1770-4 tabulates only their
 * 48 kHz result; these reproduce it to double precision). */
static void k_weighting(struct jc_loudness_meter *m, unsigned rate)
{
    double f0 = 1681.974450955533, gain_db = 3.999843853973347, q = 0.7071752369554196;
    double k = tan(M_PI * f0 / rate);
    double vh = pow(10.0, gain_db / 20.0), vb = pow(vh, 0.4996667741545416);
    double a0 = 1.0 + k / q + k * k;

    m->shelf.b0 = (vh + vb * k / q + k * k) / a0;
    m->shelf.b1 = 2.0 * (k * k - vh) / a0;
    m->shelf.b2 = (vh - vb * k / q + k * k) / a0;
    m->shelf.a1 = 2.0 * (k * k - 1.0) / a0;
    m->shelf.a2 = (1.0 - k / q + k * k) / a0;

    f0 = 38.13547087602444;
    q = 0.5003270373238773;
    k = tan(M_PI * f0 / rate);
    a0 = 1.0 + k / q + k * k;
    m->highpass.b0 = 1.0;
    m->highpass.b1 = -2.0;
    m->highpass.b2 = 1.0;
    m->highpass.a1 = 2.0 * (k * k - 1.0) / a0;
    m->highpass.a2 = (1.0 - k / q + k * k) / a0;
}

int jc_loudness_meter_create(unsigned rate, jc_loudness_meter **out)
{
    jc_loudness_meter *m;

    if (rate < JC_MIN_INPUT_RATE || rate > JC_DECODE_RATE)
        return -EINVAL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    k_weighting(m, rate);
    m->sub_frames = rate / 10;
    *out = m;
    return 0;
}

static void end_sub_block(jc_loudness_meter *m)
{
    double sum = 0.0;

    m->subs[m->sub_count % BLOCK_SUBS] = m->sub_sum;
    m->sub_count++;
    m->sub_sum = 0.0;
    m->sub_fill = 0;
    if (m->sub_count < BLOCK_SUBS || m->error)
        return;
    if (m->block_count == m->block_cap) {
        size_t cap = m->block_cap ? m->block_cap * 2 : 1024;
        double *blocks = realloc(m->blocks, cap * sizeof(*blocks));

        if (!blocks) {
            m->error = -ENOMEM;
            return;
        }
        m->blocks = blocks;
        m->block_cap = cap;
    }
    for (int i = 0; i < BLOCK_SUBS; i++)
        sum += m->subs[i];
    m->blocks[m->block_count++] = sum / (double)(BLOCK_SUBS * m->sub_frames);
}

void jc_loudness_meter_add(jc_loudness_meter *m, const float *mono, size_t frames)
{
    for (size_t i = 0; i < frames; i++) {
        double y = biquad_run(&m->highpass, biquad_run(&m->shelf, mono[i]));
        float magnitude = fabsf(mono[i]);

        if (magnitude > m->peak)
            m->peak = magnitude;
        m->sub_sum += y * y;
        if (++m->sub_fill == m->sub_frames)
            end_sub_block(m);
    }
}

static double lufs(double mean_square)
{
    return -0.691 + 10.0 * log10(mean_square);
}

int jc_loudness_meter_result(const jc_loudness_meter *m, struct jc_loudness *out)
{
    double sum = 0.0, threshold;
    size_t count = 0;

    if (m->error)
        return m->error;
    out->peak_dbfs = m->peak > 0.0f ? 20.0 * log10(m->peak) : JC_LOUDNESS_SILENT;
    for (size_t i = 0; i < m->block_count; i++)
        if (lufs(m->blocks[i]) > ABSOLUTE_GATE) {
            sum += m->blocks[i];
            count++;
        }
    out->integrated_lufs = JC_LOUDNESS_SILENT;
    if (count == 0)
        return 0;
    threshold = lufs(sum / (double)count) + RELATIVE_GATE;
    sum = 0.0;
    count = 0;
    for (size_t i = 0; i < m->block_count; i++) {
        double l = lufs(m->blocks[i]);
        if (l > ABSOLUTE_GATE && l > threshold) {
            sum += m->blocks[i];
            count++;
        }
    }
    if (count > 0)
        out->integrated_lufs = lufs(sum / (double)count);
    return 0;
}

void jc_loudness_meter_destroy(jc_loudness_meter *m)
{
    if (!m)
        return;
    free(m->blocks);
    free(m);
}

int jc_note_loudness(const unsigned char *data, size_t len, struct jc_loudness *out)
{
    jc_loudness_meter *meter = NULL;
    jc_decoder *dec = NULL;
    float *pcm;
    size_t got;
    int res;

    pcm = malloc(READ_FRAMES * sizeof(*pcm));
    if (!pcm)
        return -ENOMEM;
    res = jc_decoder_create(data, len, &dec);
    if (res < 0)
        goto out;
    res = jc_loudness_meter_create(jc_decoder_rate(dec), &meter);
    if (res < 0)
        goto out;
    do {
        res = jc_decoder_read_float(dec, pcm, READ_FRAMES, &got);
        if (res < 0)
            goto out;
        jc_loudness_meter_add(meter, pcm, got);
    } while (got > 0);
    res = jc_loudness_meter_result(meter, out);

out:
    jc_loudness_meter_destroy(meter);
    jc_decoder_destroy(dec);
    free(pcm);
    return res;
}

double jc_loudness_gain_db(const struct jc_loudness *loudness, double target_lufs)
{
    double gain;

    if (!(loudness->integrated_lufs > ABSOLUTE_GATE))
        return 0.0; /* silence, or too short to measure: nothing to raise */
    gain = target_lufs - loudness->integrated_lufs;
    /* The limiter may take peaks down by JC_MAX_LIMIT_DB; a note whose
     * peaks stand out further plays quieter than the target instead. */
    if (loudness->peak_dbfs > JC_LOUDNESS_SILENT &&
        gain > JC_PEAK_CEILING_DBFS - loudness->peak_dbfs + JC_MAX_LIMIT_DB)
        gain = JC_PEAK_CEILING_DBFS - loudness->peak_dbfs + JC_MAX_LIMIT_DB;
    /* Within what jc_decoder_set_gain() takes, whatever a store held. */
    if (gain > JC_MAX_BOOST_DB)
        gain = JC_MAX_BOOST_DB;
    if (gain < -JC_MAX_BOOST_DB)
        gain = -JC_MAX_BOOST_DB;
    return gain;
}

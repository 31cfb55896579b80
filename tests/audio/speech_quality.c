/*
 * An objective measure of how close a processed speech signal is to its
 * clean reference, for deciding what the clean-up should do:
 *
 *   speech_quality REF.wav DEG.wav
 *
 * prints "segsnr DB lsd DB": the segmental SNR (mean over 20 ms frames of
 * speech of 10 log10(reference energy / error energy), each frame clamped to
 * [-10, 35] dB, as in Hansen and Pellom's evaluation of speech enhancement)
 * and the log-spectral distance (mean over the same frames of the RMS
 * difference of the two log power spectra, 0-8 kHz, each floored 60 dB under
 * the reference's loudest frame). Higher segsnr and lower lsd are better.
 *
 * Both files must have the same rate. The degraded signal is first aligned
 * (the lag within +-30 ms of best correlation) and scaled by the one gain
 * that best matches it to the reference, so a codec's delay or an overall
 * change of level is not counted as damage; what a clean-up changes over
 * time (its gain riding, its suppression) is. Frames where the reference is
 * over 40 dB below its loudest frame are pauses and are not scored.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

#define MAX_LAG_MS 30
#define FRAME_MS   20
#define SNR_MIN    -10.0
#define SNR_MAX    35.0
#define SPEECH_DB  40.0 /* frames this far below the loudest are pauses */
#define FLOOR_DB   60.0

static float *load(const char *path, unsigned *rate, size_t *n)
{
    jc_wav_reader *r;
    size_t cap = 1 << 16, len = 0, got;
    float *pcm = malloc(cap * sizeof(*pcm));
    int res;

    if (!pcm || (res = jc_wav_reader_create(path, &r)) < 0) {
        fprintf(stderr, "speech_quality: %s: cannot read\n", path);
        exit(2);
    }
    *rate = jc_wav_reader_rate(r);
    for (;;) {
        if (len + 4096 > cap) {
            cap *= 2;
            pcm = realloc(pcm, cap * sizeof(*pcm));
            if (!pcm)
                exit(2);
        }
        if (jc_wav_reader_read(r, pcm + len, 4096, &got) < 0 || got == 0)
            break;
        len += got;
    }
    jc_wav_reader_destroy(r);
    *n = len;
    return pcm;
}

/* The lag (deg[i + lag] matches ref[i]) of highest correlation. */
static long best_lag(const float *ref, size_t nr, const float *deg, size_t nd, long max_lag)
{
    double best = -INFINITY;
    long lag_at = 0;

    for (long lag = -max_lag; lag <= max_lag; lag++) {
        double sum = 0;
        for (size_t i = 0; i < nr; i += 2) {
            long j = (long)i + lag;
            if (j >= 0 && (size_t)j < nd)
                sum += (double)ref[i] * deg[j];
        }
        if (sum > best) {
            best = sum;
            lag_at = lag;
        }
    }
    return lag_at;
}

/* Power spectrum of one frame (Hann window), bins 0..n/2, by a plain DFT
 * over tables of the window and the twiddles: a test instrument, where
 * clarity beats speed. n is at most MAX_FRAME. */
#define MAX_FRAME 960
static double window[MAX_FRAME], cosines[MAX_FRAME], sines[MAX_FRAME];

static void tables(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        window[i] = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n);
        cosines[i] = cos(2 * M_PI * (double)i / (double)n);
        sines[i] = sin(2 * M_PI * (double)i / (double)n);
    }
}

static void power_spectrum(const float *x, size_t n, double *power)
{
    for (size_t k = 0; k <= n / 2; k++) {
        double re = 0, im = 0;
        for (size_t i = 0; i < n; i++) {
            size_t at = k * i % n;
            double v = window[i] * x[i];
            re += v * cosines[at];
            im -= v * sines[at];
        }
        power[k] = re * re + im * im;
    }
}

int main(int argc, char **argv)
{
    unsigned rate_ref, rate_deg;
    size_t nr, nd, frame, frames, scored = 0;
    float *ref, *deg, *aligned;
    double gain_num = 0, gain_den = 0, gain, loudest = 0, snr_sum = 0, lsd_sum = 0;
    double *pr, *pd;
    long lag;

    if (argc != 3) {
        fprintf(stderr, "usage: speech_quality REF.wav DEG.wav\n");
        return 2;
    }
    ref = load(argv[1], &rate_ref, &nr);
    deg = load(argv[2], &rate_deg, &nd);
    if (rate_ref != rate_deg || nr == 0 || nd == 0) {
        fprintf(stderr, "speech_quality: the two files need the same rate and some sound\n");
        return 2;
    }
    lag = best_lag(ref, nr, deg, nd, (long)rate_ref * MAX_LAG_MS / 1000);
    aligned = calloc(nr, sizeof(*aligned));
    for (size_t i = 0; i < nr; i++) {
        long j = (long)i + lag;
        aligned[i] = j >= 0 && (size_t)j < nd ? deg[j] : 0.0f;
        gain_num += (double)ref[i] * aligned[i];
        gain_den += (double)aligned[i] * aligned[i];
    }
    gain = gain_den > 0 ? gain_num / gain_den : 1.0;
    for (size_t i = 0; i < nr; i++)
        aligned[i] = (float)(aligned[i] * gain);

    frame = rate_ref * FRAME_MS / 1000;
    if (frame > MAX_FRAME) {
        fprintf(stderr, "speech_quality: rates above 48 kHz are not measured\n");
        return 2;
    }
    tables(frame);
    frames = nr / frame;
    for (size_t f = 0; f < frames; f++) {
        double e = 0;
        for (size_t i = 0; i < frame; i++)
            e += (double)ref[f * frame + i] * ref[f * frame + i];
        if (e > loudest)
            loudest = e;
    }
    pr = malloc((frame / 2 + 1) * sizeof(*pr));
    pd = malloc((frame / 2 + 1) * sizeof(*pd));
    for (size_t f = 0; f < frames; f++) {
        const float *r = ref + f * frame, *d = aligned + f * frame;
        double e = 0, err = 0, snr, floor_power, dist = 0;
        for (size_t i = 0; i < frame; i++) {
            e += (double)r[i] * r[i];
            err += ((double)r[i] - d[i]) * ((double)r[i] - d[i]);
        }
        if (e <= 0 || 10 * log10(loudest / e) > SPEECH_DB)
            continue;
        snr = 10 * log10(e / (err > 1e-20 ? err : 1e-20));
        snr = snr < SNR_MIN ? SNR_MIN : snr > SNR_MAX ? SNR_MAX : snr;
        snr_sum += snr;
        power_spectrum(r, frame, pr);
        power_spectrum(d, frame, pd);
        floor_power = loudest * pow(10, -FLOOR_DB / 10);
        for (size_t k = 0; k <= frame / 2; k++) {
            double a = 10 * log10(pr[k] + floor_power), b = 10 * log10(pd[k] + floor_power);
            dist += (a - b) * (a - b);
        }
        lsd_sum += sqrt(dist / (double)(frame / 2 + 1));
        scored++;
    }
    if (!scored) {
        fprintf(stderr, "speech_quality: the reference has no speech\n");
        return 2;
    }
    printf("segsnr %.2f lsd %.2f\n", snr_sum / (double)scored, lsd_sum / (double)scored);
    free(pr);
    free(pd);
    free(aligned);
    free(ref);
    free(deg);
    return 0;
}

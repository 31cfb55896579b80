/*
 * Looks for a known signal in what came out of a virtual sound device.
 *   signal_check find REF.raw GOT.raw MIN_CORRELATION
 *     Both S16_LE mono at the same rate. Slides REF over GOT (any lag within
 *     GOT) and reports the best normalised correlation and its lag; exit 0
 *     when it reaches MIN_CORRELATION, 1 otherwise.
 *   signal_check tones GOT.raw RATE
 *     Prints the dominant frequency of every 20 ms window that is not quiet,
 *     one line "SECONDS HZ", by Goertzel over 50..4000 Hz in 1 Hz steps near
 *     peaks of a coarse 10 Hz scan.
 *   signal_check energy GOT.raw RATE FROM_S TO_S
 *     Prints the RMS level (0..1) of that stretch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *load(const char *path, size_t *frames)
{
    FILE *f = fopen(path, "rb");
    short buf[4096];
    float *data = NULL;
    size_t n = 0, cap = 0, got;

    if (!f) {
        perror(path);
        exit(2);
    }
    while ((got = fread(buf, sizeof(short), 4096, f)) > 0) {
        if (n + got > cap) {
            cap = (n + got) * 2;
            data = realloc(data, cap * sizeof(float));
            if (!data)
                exit(2);
        }
        for (size_t i = 0; i < got; i++)
            data[n++] = buf[i] / 32768.0f;
    }
    fclose(f);
    *frames = n;
    return data;
}

static int find(const char *ref_path, const char *got_path, double min)
{
    size_t nref, ngot;
    float *ref = load(ref_path, &nref), *got = load(got_path, &ngot);
    double ref_energy = 0, best = 0;
    size_t best_lag = 0;

    if (!ref || !got || nref == 0 || ngot < nref) {
        printf("correlation 0 (captured %zu frames, reference %zu)\n", ngot, nref);
        return 1;
    }
    for (size_t i = 0; i < nref; i++)
        ref_energy += (double)ref[i] * ref[i];
    /* Sliding energy of GOT under the window keeps this O(lags * nref). */
    double win = 0;
    for (size_t i = 0; i < nref; i++)
        win += (double)got[i] * got[i];
    for (size_t lag = 0; lag + nref <= ngot; lag++) {
        if (lag > 0)
            win += (double)got[lag + nref - 1] * got[lag + nref - 1] -
                   (double)got[lag - 1] * got[lag - 1];
        if (win <= 1e-9)
            continue;
        double dot = 0;
        for (size_t i = 0; i < nref; i++)
            dot += (double)ref[i] * got[lag + i];
        double c = dot / sqrt(ref_energy * win);
        if (c > best) {
            best = c;
            best_lag = lag;
        }
    }
    printf("correlation %.4f at lag %zu\n", best, best_lag);
    free(ref);
    free(got);
    return best >= min ? 0 : 1;
}

static double goertzel(const float *x, size_t n, double freq, unsigned rate)
{
    double w = 2 * M_PI * freq / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static int tones(const char *path, unsigned rate)
{
    size_t n;
    float *x = load(path, &n);
    size_t win = rate / 50;

    for (size_t at = 0; x && at + win <= n; at += win) {
        double energy = 0, best = 0, best_f = 0;
        for (size_t i = 0; i < win; i++)
            energy += (double)x[at + i] * x[at + i];
        if (sqrt(energy / win) < 0.02)
            continue;
        for (double f = 50; f <= 4000; f += 10) {
            double p = goertzel(x + at, win, f, rate);
            if (p > best) {
                best = p;
                best_f = f;
            }
        }
        for (double f = best_f - 10; f <= best_f + 10; f += 1) {
            double p = goertzel(x + at, win, f, rate);
            if (p > best) {
                best = p;
                best_f = f;
            }
        }
        printf("%.3f %.0f\n", (double)at / rate, best_f);
    }
    free(x);
    return 0;
}

static int energy(const char *path, unsigned rate, double from, double to)
{
    size_t n;
    float *x = load(path, &n);
    size_t a = (size_t)(from * rate), b = (size_t)(to * rate);
    double sum = 0;

    if (b > n)
        b = n;
    for (size_t i = a; i < b; i++)
        sum += (double)x[i] * x[i];
    printf("%.4f\n", b > a ? sqrt(sum / (double)(b - a)) : 0.0);
    free(x);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "find"))
        return find(argv[2], argv[3], atof(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "tones"))
        return tones(argv[2], (unsigned)atoi(argv[3]));
    if (argc == 6 && !strcmp(argv[1], "energy"))
        return energy(argv[2], (unsigned)atoi(argv[3]), atof(argv[4]), atof(argv[5]));
    fprintf(stderr, "usage: signal_check find REF GOT MIN | tones GOT RATE | "
                    "energy GOT RATE FROM TO\n");
    return 2;
}

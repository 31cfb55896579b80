/*
 * One second-order IIR section (private to the codec): the clean-up's
 * high-pass and rumble detector and the loudness meter's K-weighting all
 * run through it.
 */
#ifndef JIASHU_CODEC_BIQUAD_H
#define JIASHU_CODEC_BIQUAD_H

#include <math.h>

struct biquad {
    double b0, b1, b2, a1, a2; /* normalised so that a0 = 1 */
    double z1, z2;             /* transposed direct form II */
};

static inline double biquad_run(struct biquad *f, double x)
{
    double y = f->b0 * x + f->z1;

    f->z1 = f->b1 * x - f->a1 * y + f->z2;
    f->z2 = f->b2 * x - f->a2 * y;
    return y;
}

/* RBJ cookbook Butterworth (Q = 1/sqrt(2)) high-pass or low-pass at hz. */
static inline struct biquad biquad_butterworth(double hz, double rate, int highpass)
{
    double w = 2.0 * M_PI * hz / rate;
    double alpha = sin(w) / (2.0 * M_SQRT1_2);
    double a0 = 1.0 + alpha;
    double edge = highpass ? 1.0 + cos(w) : 1.0 - cos(w);
    struct biquad f = {
        .b0 = edge / 2.0 / a0,
        .b1 = (highpass ? -edge : edge) / a0,
        .b2 = edge / 2.0 / a0,
        .a1 = -2.0 * cos(w) / a0,
        .a2 = (1.0 - alpha) / a0,
    };
    return f;
}

#endif

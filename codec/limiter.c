/*
 * A look-ahead peak limiter that cannot overshoot. For each sample the
 * gain that keeps it under the ceiling is g[k] = min(1, ceiling / |x[k]|);
 * the applied gain is the running minimum of g over the next L samples,
 * allowed to recover only at the release rate, then averaged over the last
 * L samples. Every value in that average comes from a window that holds
 * the sample being output, so the average is never above what that sample
 * needs: no output passes the ceiling, by construction. The average turns
 * each dip into a ramp of L samples (5 ms), so the gain never steps and
 * the limiter adds no clicks; the release (80 ms) keeps it from following
 * single cycles of the voice, which would sound as distortion.
 *
 * The first L - 1 samples are preceded by virtual silence, and the input
 * is followed by L - 1 more at the end, so the output is exactly as long as
 * the input and starts with its first sample.
 */
#include "limiter.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

struct limiter {
    double gain, ceiling, release;
    size_t span;     /* L: the look-ahead and the averaging length */
    float *input;    /* the last span input samples (gain applied), a ring */
    double *need;    /* ring of (index, gain) pairs: the monotonic queue */
    size_t *need_at; /*   whose minimum over the window is at the front */
    size_t need_head, need_len;
    double *held; /* the last span held gains, a ring, and their sum */
    double held_sum;
    double last_held; /* for the release */
    size_t in_count;  /* input samples so far, virtual silence included */
};

int limiter_create(unsigned rate, double gain, double ceiling, struct limiter **out)
{
    struct limiter *l;

    if (rate == 0 || !(gain > 0.0) || !(ceiling > 0.0))
        return -EINVAL;
    l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->gain = gain;
    l->ceiling = ceiling;
    l->release = 1.0 - exp(-1000.0 / (LIMITER_RELEASE_MS * (double)rate));
    l->span = rate * LIMITER_LOOKAHEAD_MS / 1000;
    if (l->span < 2)
        l->span = 2;
    l->input = malloc(l->span * sizeof(*l->input));
    l->need = malloc(l->span * sizeof(*l->need));
    l->need_at = malloc(l->span * sizeof(*l->need_at));
    l->held = malloc(l->span * sizeof(*l->held));
    if (!l->input || !l->need || !l->need_at || !l->held) {
        limiter_destroy(l);
        return -ENOMEM;
    }
    limiter_reset(l);
    *out = l;
    return 0;
}

size_t limiter_delay(const struct limiter *l)
{
    return l->span - 1;
}

/* One sample in (already times the gain); returns 1 and writes *out when
 * that completes an output sample (the one span - 1 samples back). */
static int step(struct limiter *l, float x, float *out)
{
    size_t span = l->span, k = l->in_count++;
    double g = fabsf(x) > l->ceiling ? l->ceiling / fabsf(x) : 1.0;
    double held;

    l->input[k % span] = x;
    /* The window that ends at k starts at m; what is older leaves the
     * queue first, so it never holds more than span entries. */
    size_t m = k + 1 >= span ? k + 1 - span : 0;
    while (l->need_len > 0 && l->need_at[l->need_head] < m) {
        l->need_head = (l->need_head + 1) % span;
        l->need_len--;
    }
    /* The queue keeps rising gains from front to back: a newer, smaller
     * gain makes every larger one before it irrelevant. */
    while (l->need_len > 0 && l->need[(l->need_head + l->need_len - 1) % span] >= g)
        l->need_len--;
    l->need[(l->need_head + l->need_len) % span] = g;
    l->need_at[(l->need_head + l->need_len) % span] = k;
    l->need_len++;
    if (k + 1 < span)
        return 0;
    /* The window [m, m + span - 1] is complete: its minimum is at the
     * front. */
    held = l->last_held + (1.0 - l->last_held) * l->release;
    if (l->need[l->need_head] < held)
        held = l->need[l->need_head];
    l->last_held = held;
    l->held_sum += held - l->held[m % span];
    l->held[m % span] = held;
    /* The sample whose gain is now the average of the last span held
     * gains: m itself, whose input is still in the ring. */
    double applied = l->held_sum / (double)span;
    if (applied > 1.0)
        applied = 1.0;
    *out = (float)(l->input[m % span] * applied);
    return 1;
}

size_t limiter_put(struct limiter *l, const float *in, size_t frames, float *out)
{
    size_t n = 0;

    for (size_t i = 0; i < frames; i++) {
        float y;
        if (step(l, (float)(in[i] * l->gain), &y)) {
            if (l->in_count > 2 * (l->span - 1)) /* past the virtual silence */
                out[n++] = y;
        }
    }
    return n;
}

size_t limiter_finish(struct limiter *l, float *out)
{
    size_t n = 0;

    for (size_t i = 0; i + 1 < l->span; i++) {
        float y;
        if (step(l, 0.0f, &y) && l->in_count > 2 * (l->span - 1))
            out[n++] = y;
    }
    return n;
}

void limiter_reset(struct limiter *l)
{
    float unused;

    l->need_head = l->need_len = 0;
    l->in_count = 0;
    l->last_held = 1.0;
    for (size_t i = 0; i < l->span; i++)
        l->held[i] = 1.0;
    l->held_sum = (double)l->span;
    /* The virtual silence before the first sample: it completes no output
     * that anybody sees. */
    for (size_t i = 0; i + 1 < l->span; i++)
        step(l, 0.0f, &unused);
}

void limiter_destroy(struct limiter *l)
{
    if (!l)
        return;
    free(l->input);
    free(l->need);
    free(l->need_at);
    free(l->held);
    free(l);
}

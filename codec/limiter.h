/*
 * The playback gain and its peak limiter (private to the codec; the
 * decoder applies it, see jc_decoder_set_gain()). Mono floats in, the same
 * floats times the gain out, except where a peak would pass the ceiling:
 * there the gain dips smoothly so that no output sample does. It looks
 * ahead LIMITER_LOOKAHEAD_MS, so output lags input by that much; the caller
 * gets exactly as many frames out as it put in once it called
 * limiter_finish().
 */
#ifndef JIASHU_CODEC_LIMITER_H
#define JIASHU_CODEC_LIMITER_H

#include <stddef.h>

#define LIMITER_LOOKAHEAD_MS 5
#define LIMITER_RELEASE_MS   80

struct limiter;

/* gain and ceiling are linear (ceiling > 0). -EINVAL, -ENOMEM. */
int limiter_create(unsigned rate, double gain, double ceiling, struct limiter **out);
/* The most frames one limiter_put() or limiter_finish() can return beyond
 * what it was given. */
size_t limiter_delay(const struct limiter *l);
/* Takes frames of input and writes the output they complete into out,
 * which must have room for frames + limiter_delay(); returns how many. */
size_t limiter_put(struct limiter *l, const float *in, size_t frames, float *out);
/* The input has ended: writes the rest (at most limiter_delay()) to out. */
size_t limiter_finish(struct limiter *l, float *out);
/* Forgets everything, as after create (for a seek). */
void limiter_reset(struct limiter *l);
void limiter_destroy(struct limiter *l);

#endif

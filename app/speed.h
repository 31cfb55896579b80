/*
 * Playback speed without a change of pitch (time stretching), for a
 * listener who wants a long message quicker or a fast talker slower. A thin
 * C face on SoundTouch (a C++ library), which does the work.
 */
#ifndef JIASHU_APP_SPEED_H
#define JIASHU_APP_SPEED_H

#include <stddef.h>
#include <stdint.h>

#define SPEED_MIN 0.75
#define SPEED_MAX 2.0
/* The setting that remembers the listener's speed (a decimal number). */
#define SPEED_SETTING "play_speed"

struct speed;

/* A stretcher for 16-bit mono at rate Hz, playing tempo times as fast
 * (SPEED_MIN..SPEED_MAX). -EINVAL for a tempo out of range, -ENOMEM. */
int speed_create(unsigned rate, double tempo, struct speed **out);
/* Hands frames of input to the stretcher; 0 or -ENOMEM. */
int speed_put(struct speed *sp, const int16_t *pcm, size_t frames);
/* Tells the stretcher the input has ended, so it lets out what it holds. */
void speed_flush(struct speed *sp);
/* Takes up to max_frames of stretched output; returns how many (0 when it
 * needs more input, or after speed_flush() when all is out). */
size_t speed_take(struct speed *sp, int16_t *pcm, size_t max_frames);
/* Accepts NULL. */
void speed_destroy(struct speed *sp);

#endif

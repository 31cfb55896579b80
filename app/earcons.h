/*
 * Earcons: short generated sounds that tell a listener who may not read what
 * is happening. Two rising notes between messages, three falling notes when
 * there is nothing more to hear.
 */
#ifndef JIASHU_APP_EARCONS_H
#define JIASHU_APP_EARCONS_H

#include <stddef.h>
#include <stdint.h>

enum earcon {
    EARCON_NEXT, /* another message follows */
    EARCON_END,  /* that was the last one */
};

/* The frequencies of an earcon's notes, in order, for tests that look for
 * them; *count receives how many (at most 3). */
const double *earcon_notes(enum earcon which, size_t *count);

/* Renders an earcon as 16-bit mono at rate Hz into pcm (room for max_frames)
 * and returns the frames written, at most earcon_frames(which, rate). */
size_t earcon_render(enum earcon which, unsigned rate, int16_t *pcm, size_t max_frames);
/* The length of an earcon in frames at rate Hz. */
size_t earcon_frames(enum earcon which, unsigned rate);

#endif

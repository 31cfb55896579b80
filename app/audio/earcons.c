#include "app/audio/audio.h"

#include <math.h>

/* Each note lasts 120 ms with 10 ms fades so it does not click, then 40 ms of
 * silence; the notes are far from the 300-3400 Hz speech band's crowded
 * middle and from each other, so a listener (and a test) tells them apart. */
#define NOTE_MS 120
#define GAP_MS  40
#define FADE_MS 10
#define LEVEL   0.35

static const double next_notes[] = {660.0, 990.0};
static const double end_notes[] = {990.0, 784.0, 523.0};

const double *earcon_notes(enum earcon which, size_t *count)
{
    if (which == EARCON_NEXT) {
        *count = sizeof(next_notes) / sizeof(next_notes[0]);
        return next_notes;
    }
    *count = sizeof(end_notes) / sizeof(end_notes[0]);
    return end_notes;
}

size_t earcon_frames(enum earcon which, unsigned rate)
{
    size_t count;

    earcon_notes(which, &count);
    return count * (size_t)rate * (NOTE_MS + GAP_MS) / 1000;
}

size_t earcon_render(enum earcon which, unsigned rate, int16_t *pcm, size_t max_frames)
{
    size_t count, pos = 0;
    const double *notes = earcon_notes(which, &count);
    size_t note_len = (size_t)rate * NOTE_MS / 1000;
    size_t gap_len = (size_t)rate * GAP_MS / 1000;
    size_t fade = (size_t)rate * FADE_MS / 1000;

    for (size_t n = 0; n < count; n++) {
        for (size_t i = 0; i < note_len && pos < max_frames; i++, pos++) {
            double gain = LEVEL;
            if (i < fade)
                gain *= (double)i / (double)fade;
            else if (note_len - i < fade)
                gain *= (double)(note_len - i) / (double)fade;
            pcm[pos] =
                (int16_t)lrint(32767.0 * gain * sin(2.0 * M_PI * notes[n] * (double)i / rate));
        }
        for (size_t i = 0; i < gap_len && pos < max_frames; i++, pos++)
            pcm[pos] = 0;
    }
    return pos;
}

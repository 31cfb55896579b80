/*
 * The sound card, through PortAudio: capture from the default microphone and
 * playback to the default speaker, behind a small blocking API that the
 * recording and playback screens drive one chunk (about 100 ms) at a time.
 *
 * Capture always delivers mono float samples at AUDIO_RATE (16 kHz). When the
 * device cannot record 16 kHz mono, it is opened at its own rate and channel
 * count and converted here (speexdsp resampler, channels averaged). Playback
 * takes 16-bit mono at whatever rate the caller names and converts the same
 * way when the device refuses it.
 *
 * On ALSA the device is the PCM that ALSA's configuration calls "default";
 * a "default" that cannot capture means there is no microphone, even if some
 * other PCM could be opened for capture. Elsewhere it is PortAudio's default.
 *
 * Errors: 0 (or a count, where said) or a negative code: -errno, one of the
 * AUDIO_ERR_* below, or the error a caller's callback returned, passed
 * through unchanged. ju_strerror() explains any code of the project.
 *
 * Nothing here prints or reads the environment. ALSA's and JACK's messages,
 * which those libraries would print on stderr while PortAudio probes
 * devices that do not exist, go to the log the program sets with
 * audio_set_log() (or nowhere), through the libraries' own error handlers;
 * fd 2 is never touched. The one exception is PortAudio's ALSA code, which
 * traces a failed ALSA call on stderr with no way to redirect it in
 * Debian's build: a few "Expression '...' failed" lines once a device has
 * stopped working mid-stream (see audio_device.c).
 *
 * The program, not this library, keeps JACK from starting a server: it sets
 * JACK_NO_START_SERVER=1 in its environment before audio_init(). PortAudio's
 * JACK host API and Debian's ALSA jack plugin already ask for no server;
 * the variable keeps it so for any JACK client loaded that does not.
 */
#ifndef JIASHU_APP_AUDIO_H
#define JIASHU_APP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* The rate every captured sample is delivered at, in Hz. */
#define AUDIO_RATE 16000

enum audio_error {
    AUDIO_ERR_INIT = -4001,      /* PortAudio itself could not start */
    AUDIO_ERR_NO_INPUT = -4002,  /* there is no microphone */
    AUDIO_ERR_NO_OUTPUT = -4003, /* there is no speaker */
    AUDIO_ERR_OPEN = -4004,      /* the device refused every format we asked for */
    AUDIO_ERR_LOST = -4005,      /* the device stopped working or was unplugged */
};

/* Where ALSA's and JACK's messages go: one call a line, without its
 * newline, prefixed "ALSA: " or "JACK: ". NULL (the default): nowhere. Set
 * it before audio_init(); log may be called from PortAudio's and JACK's
 * threads as well as the caller's. */
void audio_set_log(void (*log)(void *user, const char *line), void *user);
/* Starts PortAudio (once per process; calls nest). Must precede every other
 * function here but audio_set_log(). AUDIO_ERR_INIT on failure. */
int audio_init(void);
/* Makes every stream opened from now on run the device at rate Hz
 * (8000..192000), or lets each choose again with 0: tests use it to stand
 * in for a device that runs at another rate. The program decides it. */
void audio_force_device_rate(unsigned rate);
/* Ends what audio_init() started; every stream must be destroyed first. */
void audio_finish(void);

/* ---- Capture ---------------------------------------------------------- */

/* Receives frames mono samples in [-1, 1] at AUDIO_RATE. The buffer is only
 * valid during the call. A negative return stops the capture and is what
 * audio_capture_pump() returns. */
typedef int (*audio_capture_fn)(void *user, const float *mono, size_t frames);

struct audio_capture;

/* Opens and starts the default input device. On success *out is the running
 * stream. AUDIO_ERR_NO_INPUT when there is no microphone, AUDIO_ERR_OPEN when
 * it refuses every format. audio_force_device_rate() can force the device
 * rate (for devices that claim 16 kHz and do it badly; the tests use it to
 * exercise the conversion). */
int audio_capture_create(struct audio_capture **out);
/* The rate the device really runs at (AUDIO_RATE unless converted). */
unsigned audio_capture_device_rate(const struct audio_capture *cap);
/* Waits for the next chunk from the device (about 100 ms of sound), converts
 * it and hands it to fn(user, ...) once. Returns the frames delivered (may be
 * 0 while a resampler fills up), fn's negative return, or AUDIO_ERR_LOST when
 * the device fails or vanishes; after that the stream is dead, but what was
 * delivered before stays delivered. */
int audio_capture_pump(struct audio_capture *cap, audio_capture_fn fn, void *user);
/* Stops and closes the stream; accepts NULL. */
void audio_capture_destroy(struct audio_capture *cap);

/* ---- Playback ----------------------------------------------------------- */

/* Fills up to max_frames 16-bit mono frames at the playback's rate and
 * returns how many (0 at the end), or a negative code that stops playback
 * and is what audio_playback_pump() returns. */
typedef int (*audio_source_fn)(void *user, int16_t *pcm, size_t max_frames);

struct audio_playback;

/* Opens and starts the default output device for 16-bit mono at rate Hz
 * (8000..48000). AUDIO_ERR_NO_OUTPUT when there is no speaker. */
int audio_playback_create(unsigned rate, struct audio_playback **out);
/* Plays frames samples, blocking while the device's buffer is full.
 * AUDIO_ERR_LOST when the device fails or vanishes. */
int audio_playback_write(struct audio_playback *pb, const int16_t *pcm, size_t frames);
/* Pulls one chunk (about 100 ms) from fn and plays it. Returns the frames
 * played, 0 when fn said the end, or a negative code. */
int audio_playback_pump(struct audio_playback *pb, audio_source_fn fn, void *user);
/* Frames (at the playback's rate) that have left the speaker so far:
 * what was written minus what still sits in the device's buffer. */
uint64_t audio_playback_heard(const struct audio_playback *pb);
/* Waits until everything written has been played. */
int audio_playback_drain(struct audio_playback *pb);
/* Stops (dropping what is still buffered) and closes; accepts NULL. */
void audio_playback_destroy(struct audio_playback *pb);

/* ---- earcons ------------------------------------------------------------- */

/*
 * Earcons: short generated sounds that tell a listener who may not read what
 * is happening. Two rising notes between messages, three falling notes when
 * there is nothing more to hear.
 */
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

/* ---- playback speed ------------------------------------------------------ */

/*
 * Playback speed without a change of pitch (time stretching), for a
 * listener who wants a long message quicker or a fast talker slower. A thin
 * C face on SoundTouch (a C++ library), which does the work.
 */
#define SPEED_MIN 0.75
#define SPEED_MAX 2.0
/* The listener's speed is remembered in the store's play_speed setting. */

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

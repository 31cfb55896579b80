/*
 * The keypad's sounds: a short earcon for every key and the spoken
 * prompts, played on a thread of its own so that a key never waits for the
 * speaker. Earcons come from the audio part's generator where it has one
 * (two rising notes, three falling ones) and are simple tones otherwise.
 * Prompts are voice notes (Ogg Opus files), decoded by the codec and
 * played at the speed asked for.
 */
#ifndef JIASHU_APP_STATION_SOUND_H
#define JIASHU_APP_STATION_SOUND_H

#include <stdbool.h>

#include "station_core.h"

typedef struct st_sound st_sound;

/* Starts the sound thread. Without a speaker it still succeeds and stays
 * silent. *out is freed with st_sound_destroy(). */
int st_sound_create(st_sound **out);
/* Queues an earcon; an earcon still waiting is replaced (the newest key
 * wins, sounds never pile up behind a fast typist). Never blocks. */
void st_sound_play(st_sound *sound, enum st_earcon earcon);
/* Waits (up to timeout_ms) until no earcon is waiting or playing, so the
 * speaker is free for a message or the microphone hears no beep. */
void st_sound_wait_idle(st_sound *sound, int timeout_ms);
/* Clips one prompt may have (before the number, the number, after it). */
#define ST_SOUND_CLIPS 3

/* Speaks a prompt: the files in paths (n of them, at most ST_SOUND_CLIPS;
 * an empty file is skipped) one after another, at tempo times the speed
 * (SPEED_MIN..SPEED_MAX). A prompt still waiting or speaking is cut short,
 * as it is by the next st_sound_play() or st_sound_say(); an earcon asked
 * for just before plays first. label names the prompt in the trace. Never
 * blocks. */
void st_sound_say(st_sound *sound, const char *label, const char *const *paths, int n,
                  double tempo);
/* Cuts any prompt short and drops a waiting earcon. */
void st_sound_hush(st_sound *sound);
/* Whether a prompt is waiting or being spoken. */
bool st_sound_speaking(st_sound *sound);
/* If set, a line "spoke LABEL" or "cut LABEL" is appended to this file as
 * each prompt ends (for tests). The path is copied. */
void st_sound_set_trace(st_sound *sound, const char *path);
/* How many earcons reached the speaker so far. */
unsigned st_sound_played(st_sound *sound);
/* Stops the thread; accepts NULL. */
void st_sound_destroy(st_sound *sound);

#endif

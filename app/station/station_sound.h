/*
 * The keypad's sounds: a short earcon for every key, played on a thread of
 * its own so that a key never waits for the speaker. Earcons come from the
 * audio part's generator where it has one (two rising notes, three falling
 * ones) and are simple tones otherwise.
 */
#ifndef JIASHU_APP_STATION_SOUND_H
#define JIASHU_APP_STATION_SOUND_H

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
/* How many earcons reached the speaker so far. */
unsigned st_sound_played(st_sound *sound);
/* Stops the thread; accepts NULL. */
void st_sound_destroy(st_sound *sound);

#endif

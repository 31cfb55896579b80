/*
 * The recording screen: records from the default microphone into a store
 * recording, the same path a WAV file takes, so everything the store
 * promises about a recording (a crash loses at most the last page) holds.
 *
 * On a terminal it shows the elapsed time and a level meter. Enter (or q,
 * Ctrl-C, SIGTERM) stops and keeps what was recorded; space pauses and
 * resumes (what the microphone hears while paused is dropped); the recording
 * also stops at max_seconds. When the microphone vanishes mid-way, what was
 * recorded up to then is kept and the program says so.
 */
#ifndef JIASHU_APP_LIVE_RECORD_H
#define JIASHU_APP_LIVE_RECORD_H

#include <stdbool.h>

#include "store/store.h"

/* The longest a recording from the microphone runs when --max-seconds is
 * not given and the record_max_seconds setting is unset. */
#define LIVE_RECORD_DEFAULT_MAX 300

/* max_seconds from the setting, or LIVE_RECORD_DEFAULT_MAX. */
unsigned live_record_max_seconds(js_store *store);

/* Records into rec, which was created for AUDIO_RATE input, until a key,
 * the limit or a failure stops it, then finishes rec. On success prints the
 * message id on stdout, leaves it in id, and returns 0. On failure prints one line on stderr
 * and returns 1: if some sound was recorded before the microphone failed it
 * is kept (finished) and the line gives its id. *discard is set when nothing
 * was recorded and the caller should destroy rec with discard = true. The
 * caller keeps ownership of rec. */
int live_record_run(js_recording *rec, unsigned max_seconds, bool *discard, char id[JS_ID_LEN + 1]);

#endif

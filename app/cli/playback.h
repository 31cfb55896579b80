/*
 * The listening screen: plays voice notes from the store through the
 * default speaker.
 *
 * One message, or with next every unplayed inbox message in order, oldest
 * first, with the "next" earcon between messages and the "end" earcon after
 * the last. Enter (or q, Ctrl-C) stops, space pauses. A message stopped half
 * way resumes where the listener stopped it, the next time it is played; an
 * inbox message counts as played (and its receipt goes back to the sender)
 * only once it was heard to the end or nearly (the last second, or the last
 * tenth of a short one, may be missed). Every note plays at one loudness
 * (playback_gain_db()).
 */
#ifndef JIASHU_APP_PLAYBACK_H
#define JIASHU_APP_PLAYBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Where an unfinished message stopped, in ms, is kept in the message's
 * play_position_ms (js_message_set_position), 0 once it is heard to the end. */

/* Plays first and, if next, every unplayed inbox message after it but
 * bedtime letters whose time has not come by the wall clock plus
 * clock_offset_ms (the program's test clock). Prints the id of every
 * message heard to the end on stdout. Returns the process exit status: 0
 * (also when the listener stopped), or 1 after one line on stderr (no
 * speaker, the speaker vanished, a damaged message). */
int playback_run(js_store *store, const struct js_message *first, bool next,
                 int64_t clock_offset_ms);

/* The gain in dB that plays message id (whose note is data) at
 * JC_LOUDNESS_TARGET_LUFS: from the loudness the store keeps, or measured
 * now and kept for next time. 0 (the note as it is) when it cannot be
 * measured; playing never fails for want of a gain. */
double playback_gain_db(js_store *store, const char *id, const unsigned char *data, size_t len);

/* The listener's speed (JS_SETTING_PLAY_SPEED), 1 when unset or out of range. */
double playback_speed(js_store *store);

/* Stands in for the speaker after `play --output` wrote message m from
 * from_ms: waits as long as the rest of it would play at the listener's
 * speed, so a test can press keys while it "plays". Stopped early (SIGTERM,
 * SIGINT) it keeps where it got to, as playing does. Returns 1 when it was
 * heard (nearly) to the end, 0 when stopped before, or < 0. */
int playback_pace(js_store *store, const struct js_message *m, uint64_t from_ms);

#endif

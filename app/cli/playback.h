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
 * tenth of a short one, may be missed).
 */
#ifndef JIASHU_APP_PLAYBACK_H
#define JIASHU_APP_PLAYBACK_H

#include <stdbool.h>

#include "store/store.h"

/* Where an unfinished message stopped, in ms, is kept in the message's
 * play_position_ms (js_message_set_position), 0 once it is heard to the end. */

/* Plays first and, if next, every unplayed inbox message after it. Prints
 * the id of every message heard to the end on stdout. Returns the process
 * exit status: 0 (also when the listener stopped), or 1 after one line on
 * stderr (no speaker, the speaker vanished, a damaged message). */
int playback_run(js_store *store, const struct js_message *first, bool next);

#endif

/*
 * The keys of the recording and playback screens: Enter (or q) stops, space
 * pauses and resumes, Ctrl-C stops too. On a terminal the keys act at once
 * (no line editing, no echo); from a pipe or a file the same bytes do the
 * same, which is how scripts and tests drive the screens. An input that ends
 * or fails just means no more keys.
 */
#ifndef JIASHU_APP_KEYS_H
#define JIASHU_APP_KEYS_H

#include <stdbool.h>

enum key_event {
    KEY_NONE,
    KEY_STOP,  /* Enter, q, Ctrl-C or SIGTERM */
    KEY_PAUSE, /* space: pause or resume */
};

/* Puts the terminal (if stdin is one) into single-key mode and catches
 * SIGINT and SIGTERM; keys_finish() undoes both. */
void keys_init(void);
void keys_finish(void);
/* The next key waiting, without blocking. */
enum key_event keys_poll(void);
/* true if stdout is a terminal, where a screen may draw its status line. */
bool keys_interactive(void);

#endif

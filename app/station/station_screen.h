/*
 * Draws the core's view on a terminal with ncursesw, and reads the keypad.
 * Two layouts: large (at least 60x20: digits twice as big) and small (down
 * to 40x12). White on black, bold, one accent colour: high contrast on any
 * terminal, and nothing but the keypad keys is read (no mouse).
 */
#ifndef JIASHU_APP_STATION_SCREEN_H
#define JIASHU_APP_STATION_SCREEN_H

#include <stdbool.h>

#include "station_core.h"
#include "station_text.h"

struct st_screen_info {
    enum st_lang lang;
    bool quiet;                       /* quiet hours now */
    bool full;                        /* storage over the quota */
    const char *(*strerror)(int err); /* explains view.error */
};

/* Takes over the terminal; -ENOTTY if standard input/output is not one. */
int st_screen_open(void);
/* Gives the terminal back, cleared. Safe to call when not open. */
void st_screen_close(void);
/* Waits up to timeout_ms for a key; returns an st_key, a digit, or -1. */
int st_screen_read_key(int timeout_ms);
/* Throws away keys typed but not read yet. */
void st_screen_flush_input(void);
/* Redraws the whole screen from the view: what is not in the view is not
 * on the screen. */
void st_screen_draw(const struct st_view *view, const struct st_screen_info *info);

#endif

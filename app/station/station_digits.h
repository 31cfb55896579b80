/*
 * Big digits for the keypad screen: 0-9, '*', '#', ':' and '-' drawn with
 * full blocks, five cells high and four wide, scaled by whole numbers so a
 * number can be read from across a room.
 */
#ifndef JIASHU_APP_STATION_DIGITS_H
#define JIASHU_APP_STATION_DIGITS_H

#include <stddef.h>

#define ST_DIGIT_ROWS 5
#define ST_DIGIT_COLS 4
#define ST_DIGIT_GAP  1 /* blank columns between characters, before scaling */

/* The width in cells of text drawn at horizontal scale sx. */
int st_digits_width(const char *text, int sx);

/* Writes row (0 .. ST_DIGIT_ROWS * sy - 1) of text drawn at scale sx, sy
 * into out as UTF-8 ("█" and spaces), NUL-terminated. Characters without a
 * glyph draw as blanks. Returns the row's width in cells, or -1 if out is
 * too small (out then holds an empty string) or row is out of range. */
int st_digits_row(const char *text, int row, int sx, int sy, char *out, size_t size);

#endif

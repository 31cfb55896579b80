/*
 * jiashu station: the keypad screen for a grandparent's home or a school's
 * shared call station. A pure state machine (station_core.h) decides what
 * each key does; a registry of family homes (station_registry.h) keeps who
 * may use the station; a screen (station_screen.h) draws it with ncurses;
 * and a backend table (station_backend.h) does the work that touches the
 * world: running `jiashu` for sync, record and play, and sounding earcons.
 * The tests drive the state machine through a fake backend.
 *
 * This is the one header the programs include; the parts' own headers are
 * included from here so that each stays small and separately testable.
 */
#ifndef JIASHU_APP_STATION_H
#define JIASHU_APP_STATION_H

#include "station_backend.h"
#include "station_core.h"
#include "station_registry.h"
#include "station_screen.h"
#include "station_text.h"

#endif

/*
 * The station's family registry: which family numbers exist, each family's
 * PIN (Argon2id through libsodium, never the PIN itself), the teacher's PIN,
 * the wrong-PIN limiter and the station's settings (relay, quiet hours,
 * quota). It lives in one SQLite file, STATION_HOME/station.db, mode 0600.
 *
 * Each family has its own jiashu home, STATION_HOME/families/N, derived from
 * its number and never read from the database, so a damaged or hostile
 * registry cannot point one family's session at another family's data.
 *
 * Errors: 0 or a negative code of the project's convention (-errno, or
 * JS_ERR_NOT_A_DATABASE when station.db is not ours).
 */
#ifndef JIASHU_APP_STATION_REGISTRY_H
#define JIASHU_APP_STATION_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "station_core.h"

typedef struct st_registry st_registry;

#define ST_REGISTRY_FILE     "station.db"
#define ST_FAMILIES_MAX      9999
/* The most PBKDF2 iterations a hash from before Argon2id may ask for is ten
 * times this (the count the station used to write). */
#define ST_PBKDF2_ITERATIONS 150000
#define ST_DEFAULT_DELAY_MS  2000   /* wait after the first wrong PIN; doubles each time */
#define ST_DEFAULT_DELAY_CAP 300000 /* never more than five minutes */

/* Opens STATION_HOME/station.db. With create, makes the directory (0700)
 * and the database if missing; without, -ENOENT if there is none. */
int st_registry_create(const char *station_home, bool create, st_registry **out);
void st_registry_destroy(st_registry *reg);

/* True if STATION_HOME holds a station registry. */
bool st_registry_exists(const char *station_home);

/* The wrong-PIN delays: base after the first failure, doubling, at most cap. */
void st_registry_set_delays(st_registry *reg, int64_t base_ms, int64_t cap_ms);

/* Sets (or replaces) the teacher's PIN: ST_PIN_MIN..ST_PIN_MAX digits. */
int st_registry_set_teacher_pin(st_registry *reg, const char *pin);

/* Checks the teacher's PIN, or a family's number and PIN. Returns 0 when it
 * matches; ST_LOGIN_REFUSED when it does not (an unknown family number is
 * refused the same way, in the same time), and *wait_ms is how long every
 * PIN is then refused; ST_LOGIN_LOCKED without checking anything while that
 * wait lasts (*wait_ms is what is left). One limiter serves the whole
 * station, and it survives a restart. */
int st_registry_check_teacher(st_registry *reg, const char *pin, int64_t *wait_ms);
int st_registry_check_family(st_registry *reg, unsigned number, const char *pin, int64_t *wait_ms);

/* Adds a family with the next free number and its PIN, and makes its home
 * directory (0700). *number is the new number. */
int st_registry_add_family(st_registry *reg, const char *pin, unsigned *number);
/* Removes a family from the registry (not its home: the caller decides). */
int st_registry_remove_family(st_registry *reg, unsigned number);

/* The home directory of family number, written into buf. -ENAMETOOLONG if
 * it does not fit. Does not check that the family exists. */
int st_registry_family_home(const st_registry *reg, unsigned number, char *buf, size_t size);
/* The station's own home directory (owned by the registry). */
const char *st_registry_home(const st_registry *reg);

/* Up to max family numbers in ascending order; returns how many. */
int st_registry_families(st_registry *reg, unsigned *numbers, int max);

/* When family number last synced (Unix seconds, 0 never). */
int st_registry_set_last_sync(st_registry *reg, unsigned number, int64_t when);
int64_t st_registry_last_sync(st_registry *reg, unsigned number);

/* Quiet hours and quota. */
int st_registry_get_settings(st_registry *reg, struct st_settings *settings);
int st_registry_set_settings(st_registry *reg, const struct st_settings *settings);

/* A free-form text setting (the relay URL, the station's name); -ENOENT if unset.
 * The value is copied into buf. */
int st_registry_get_text(st_registry *reg, const char *key, char *buf, size_t size);
int st_registry_set_text(st_registry *reg, const char *key, const char *value);

/* True when minute_of_day falls within [start, end), wrapping midnight. */
bool st_quiet_now(const struct st_settings *settings, int minute_of_day);

#endif

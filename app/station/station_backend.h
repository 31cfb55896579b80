/*
 * What the keypad core asks of the world, done for real: family sessions,
 * playback and recording, background sync of every family home, quiet
 * hours and the storage quota.
 *
 * Each family's messages are reached only through child processes of this
 * program run with --home set to that family's own home, so the station
 * process never opens two families' stores, and a session can only ever
 * name the home of the family whose PIN was typed.
 */
#ifndef JIASHU_APP_STATION_BACKEND_H
#define JIASHU_APP_STATION_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "station_core.h"
#include "station_registry.h"

struct st_backend_config {
    bool station;             /* station mode: families from the registry */
    const char *home;         /* home mode: the one home; station: the station home */
    const char *exe;          /* this program, to run its commands as children */
    int64_t sync_interval_ms; /* between two syncs of one home */
    int max_record_seconds;   /* a reply stops by itself after this long */
    const char *trace_path;   /* if set, every earcon is appended here (for tests) */
    /* If set, sound goes through files in this directory instead of the
     * sound card: each message played is written to played-N.wav (N from
     * 1), and a reply is recorded from reply.wav. */
    const char *audio_dir;
    /* Spoken prompts: the directory of prompt-LANG-ID.opus files (NULL or
     * missing files: each prompt falls back to an earcon), the language
     * ("en" or "zh"), and in home mode (no registry, no teacher) whether
     * and how fast they are spoken (enum st_voice; station mode reads the
     * teacher's setting). */
    const char *prompts_dir;
    const char *lang;
    int home_voice;
    /* Added to the wall clock when deciding whether a bedtime letter's
     * time has come: the program's test clock (JIASHU_NOW), 0 otherwise. */
    int64_t clock_offset_ms;
};

typedef struct st_backend st_backend;

/* reg is the station's registry (station mode; NULL in home mode), kept by
 * the caller and used until st_backend_destroy(). */
int st_backend_create(const struct st_backend_config *config, st_registry *reg, st_backend **out);
/* Stops every child (sync, playback, recording) and frees the backend. */
void st_backend_destroy(st_backend *be);

/* The table for st_core_init(); its functions take the st_backend. */
const struct st_backend_ops *st_backend_ops(void);

/* Runs the background work: starts and reaps sync children, follows quiet
 * hours and the quota. Call it on every tick; now is monotonic ms. */
void st_backend_poll(st_backend *be, int64_t now);

bool st_backend_quiet(const st_backend *be); /* quiet hours now */
bool st_backend_full(const st_backend *be);  /* storage over the quota */

#endif

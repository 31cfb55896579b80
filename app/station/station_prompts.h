/*
 * The station's spoken prompts: one sentence for every screen, refusal,
 * error and notice, so that someone who cannot read the screen can still
 * use every key.
 *
 * The English sentences below are the source: the build extracts them (they
 * are marked N_() for xgettext), looks up their Mandarin in the translation
 * catalogue (packaging/po/zh_CN.po), speaks both with espeak-ng and encodes
 * each as a voice note with `jiashu encode` (app/station/prompts/). A
 * sentence with {n} is spoken in two clips around a number clip (num-0 ..
 * num-ST_PROMPT_NUMBER_MAX), since a number cannot be known at build time.
 *
 * Files: DIR/prompt-LANG-ID.opus (LANG "en" or "zh"); a sentence split at
 * {n} is prompt-LANG-ID.a.opus and prompt-LANG-ID.b.opus (either may be
 * absent when that side is empty).
 */
#ifndef JIASHU_APP_STATION_PROMPTS_H
#define JIASHU_APP_STATION_PROMPTS_H

#include "station_core.h"

/* Numbers with a clip of their own; larger ones are said as this. */
#define ST_PROMPT_NUMBER_MAX 99

/* The prompt's file stem ("home-count"), never NULL for a valid prompt. */
const char *st_prompt_id(enum st_prompt prompt);
/* The English sentence, with {n} where the number goes. */
const char *st_prompt_english(enum st_prompt prompt);
/* Whether the sentence takes a number. */
bool st_prompt_has_number(enum st_prompt prompt);

#endif

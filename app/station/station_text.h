/*
 * The keypad screen's words, in Chinese and English. The language follows
 * the locale variables (LC_ALL, then LC_MESSAGES, then LANG): "zh..." is
 * Chinese, anything else English. It is read from the variables rather than
 * from setlocale() so that a machine without the zh_CN locale compiled still
 * shows Chinese to whoever asked for it.
 */
#ifndef JIASHU_APP_STATION_TEXT_H
#define JIASHU_APP_STATION_TEXT_H

#include <stddef.h>

enum st_lang {
    ST_LANG_EN,
    ST_LANG_ZH,
};

struct st_text {
    const char *title;
    const char *start, *teacher_hint, *clear_hint;
    const char *pin;            /* %u: family number */
    const char *refused, *wait; /* wait: %d seconds */
    const char *count_new;      /* %d */
    const char *none_new;
    const char *key_play, *key_record, *key_again, *key_leave;
    const char *playing; /* %d of %d */
    const char *stop_hint;
    const char *recording; /* %d seconds */
    const char *record_hint;
    const char *sent, *nothing_new, *nothing_yet, *failed; /* failed: %s */
    const char *added;                                     /* %u */
    const char *pin_mismatch, *pin_short, *saved, *bad_time;
    const char *busy;
    const char *teacher_pin;
    const char *menu_add, *menu_list, *menu_quiet, *menu_quota, *menu_voice, *menu_leave;
    const char *voice, *voice_names[4]; /* spoken prompts: off, slow, normal, fast */
    const char *code;
    const char *newpin, *newpin_again;
    const char *list_head, *never, *list_empty, *list_hint;
    const char *quiet_start, *quiet_end, *quiet_now, *quiet_off; /* quiet_now: %s */
    const char *quota, *quota_now, *quota_none;                  /* quota_now: %lld */
    const char *quiet_badge, *full_badge;
    const char *too_small;
    /* listen before sending */
    const char *review, *review_listen, *review_again, *review_send, *review_discard;
    const char *discard_ask, *discarded;
    /* keys while a letter plays */
    const char *from;    /* %s: the sender's name */
    const char *bedtime; /* %s: the sender's name of a bedtime letter come due */
    const char *paused;  /* %d: speed in percent */
    const char *speed;   /* %d: speed in percent */
    const char *play_pause, *play_back, *play_again, *play_next, *play_speed, *play_stop;
};

/* The language of a locale name such as "zh_CN.UTF-8" (what the program
 * found in LC_ALL, LC_MESSAGES or LANG); English for NULL or "". */
enum st_lang st_text_lang_for(const char *locale_name);
/* Fills a text's placeholders (%d, %u, %s, %lld), in order, with a and b,
 * already turned into strings; always NUL-terminates within size. */
void st_text_fill(char *buf, size_t size, const char *tmpl, const char *a, const char *b);
const struct st_text *st_text_get(enum st_lang lang);

#endif

/*
 * The words of the spoken prompts. Each line of the table below is read by
 * the build (app/station/prompts/make_prompts.py) as well as by the
 * compiler: keep one entry per line, in the form {"id", N_("sentence")}.
 * The sentences are short and say the keys, because the listener may not
 * be able to read the screen that shows them.
 */
#include "station_prompts.h"

#include <string.h>

#define N_(s) s

struct prompt_words {
    const char *id;
    const char *english;
};

static const struct prompt_words words[ST_PROMPT_COUNT] = {
    [ST_PROMPT_NONE] = {"none", ""},
    /* TRANSLATORS: spoken by the station; {n} is said as a number. */
    [ST_PROMPT_START] = {"start",
                         N_("Type your family number, then press Enter. Teacher, press star.")},
    [ST_PROMPT_PIN] = {"pin", N_("Family {n}. Type your PIN, then press Enter.")},
    [ST_PROMPT_REFUSED] = {"refused", N_("Wrong number or PIN. Please wait {n} seconds.")},
    [ST_PROMPT_WAIT] = {"wait", N_("Please wait {n} seconds.")},
    [ST_PROMPT_HOME_NONE] =
        {"home-none",
         N_("No new letters. Press 2 to record a reply, 3 to hear the last letter again.")},
    [ST_PROMPT_HOME_ONE] = {"home-one", N_("You have one new letter. Press 1 to listen.")},
    [ST_PROMPT_HOME_COUNT] = {"home-count", N_("You have {n} new letters. Press 1 to listen.")},
    [ST_PROMPT_ARRIVED] =
        {"arrived", N_("A new letter has arrived. You have {n} new letters. Press 1 to listen.")},
    [ST_PROMPT_ALL_DONE] = {"all-done",
                            N_("That was all. Press 3 to hear the last letter again, 2 to reply.")},
    [ST_PROMPT_RECORD] = {"record",
                          N_("After the tone, speak your reply. Press 2 when you are done.")},
    [ST_PROMPT_BUSY] = {"busy", N_("Please wait.")},
    [ST_PROMPT_SENT] = {"sent", N_("Your reply will be sent.")},
    [ST_PROMPT_NOTHING_NEW] = {"nothing-new", N_("There are no new letters.")},
    [ST_PROMPT_NOTHING_YET] = {"nothing-yet", N_("There is no letter to hear again yet.")},
    [ST_PROMPT_FAILED] = {"failed", N_("Sorry, that did not work.")},
    [ST_PROMPT_KEY_REFUSED] = {"key-refused", N_("That key does nothing here.")},
    [ST_PROMPT_TEACHER_PIN] = {"teacher-pin", N_("Teacher, type your PIN, then press Enter.")},
    [ST_PROMPT_TEACHER_MENU] = {"teacher-menu",
                                N_("Press 1 to add a family, 2 for the families, 3 for quiet "
                                   "hours, 4 for storage, 5 for spoken prompts. Star to leave.")},
    [ST_PROMPT_TEACHER_CODE] = {"teacher-code", N_("Type the invite code, then press Enter.")},
    [ST_PROMPT_NEWPIN] = {"newpin",
                          N_("Type a PIN for the new family, 4 to 8 digits, then press Enter.")},
    [ST_PROMPT_NEWPIN_AGAIN] = {"newpin-again", N_("Type the same PIN again, then press Enter.")},
    [ST_PROMPT_TEACHER_LIST] = {"teacher-list", N_("{n} families. Star to go back.")},
    [ST_PROMPT_ADDED] = {"added", N_("Family {n} is added.")},
    [ST_PROMPT_PIN_MISMATCH] = {"pin-mismatch", N_("The two PINs differ. Please try again.")},
    [ST_PROMPT_SAVED] = {"saved", N_("Saved.")},
    [ST_PROMPT_BAD_TIME] = {"bad-time",
                            N_("That is not a time. Type four digits, hours and minutes.")},
    [ST_PROMPT_QUIET_START] =
        {"quiet-start", N_("Type when the quiet hours start, four digits, then press Enter.")},
    [ST_PROMPT_QUIET_END] = {"quiet-end", N_("Now type when the quiet hours end.")},
    [ST_PROMPT_QUOTA] = {"quota", N_("Type the storage quota in megabytes, then press Enter.")},
    [ST_PROMPT_VOICE] =
        {"voice", N_("Spoken prompts. Press 0 for off, 1 for slow, 2 for normal, 3 for fast.")},
    [ST_PROMPT_REVIEW] = {"review", N_("Press 1 to listen to your reply, 2 to record it again, 3 "
                                       "to send it, star to throw it away.")},
    [ST_PROMPT_DISCARD_ASK] =
        {"discard-ask", N_("Press star again to throw your reply away. Any other key keeps it.")},
    [ST_PROMPT_DISCARDED] = {"discarded", N_("Your reply is thrown away.")},
    [ST_PROMPT_LETTER] = {"letter", N_("Letter {n}. Who sent it is on the screen.")},
    [ST_PROMPT_PAUSED] = {"paused", N_("Paused. Press 5 to go on, 4 to go back five seconds, 1 to "
                                       "start again, 6 for the next letter, 3 for the speed.")},
    [ST_PROMPT_SPEED_SLOW] = {"speed-slow", N_("Slower.")},
    [ST_PROMPT_SPEED_NORMAL] = {"speed-normal", N_("Normal speed.")},
    [ST_PROMPT_SPEED_FAST] = {"speed-fast", N_("Faster.")},
    [ST_PROMPT_BEDTIME] = {"bedtime",
                           N_("A bedtime letter has come. Who sent it is on the screen. Press 1 "
                              "to listen.")},
};

const char *st_prompt_id(enum st_prompt prompt)
{
    if ((int)prompt <= ST_PROMPT_NONE || prompt >= ST_PROMPT_COUNT)
        return NULL;
    return words[prompt].id;
}

const char *st_prompt_english(enum st_prompt prompt)
{
    if ((int)prompt <= ST_PROMPT_NONE || prompt >= ST_PROMPT_COUNT)
        return NULL;
    return words[prompt].english;
}

bool st_prompt_has_number(enum st_prompt prompt)
{
    const char *e = st_prompt_english(prompt);
    return e && strstr(e, "{n}") != NULL;
}

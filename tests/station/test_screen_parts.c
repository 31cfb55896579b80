/*
 * The screen's pure parts: big digits and the two languages' texts.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station_digits.h"
#include "station_text.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define BLOCK "\xe2\x96\x88"

static void big_digits_have_the_right_shape(void)
{
    char row[512];

    CHECK(st_digits_width("1", 1) == 4);
    CHECK(st_digits_width("12", 1) == 9);
    CHECK(st_digits_width("12", 2) == 18);
    CHECK(st_digits_width("", 2) == 0);
    /* "1" at scale 1: the top row is a single block in the third column. */
    CHECK(st_digits_row("1", 0, 1, 1, row, sizeof(row)) == 4);
    CHECK(!strcmp(row, "  " BLOCK " "));
    CHECK(st_digits_row("1", 4, 1, 1, row, sizeof(row)) == 4);
    CHECK(!strcmp(row, " " BLOCK BLOCK BLOCK));
    /* Scale 2 doubles every cell across and every row down. */
    CHECK(st_digits_row("1", 0, 2, 2, row, sizeof(row)) == 8);
    CHECK(!strcmp(row, "    " BLOCK BLOCK "  "));
    CHECK(st_digits_row("1", 1, 2, 2, row, sizeof(row)) == 8);
    CHECK(!strcmp(row, "    " BLOCK BLOCK "  "));
    CHECK(st_digits_row("1", 9, 2, 2, row, sizeof(row)) == 8);
    CHECK(st_digits_row("1", 10, 2, 2, row, sizeof(row)) == -1);
    /* Two digits are kept apart by a blank column. */
    CHECK(st_digits_row("88", 0, 1, 1, row, sizeof(row)) == 9);
    CHECK(!strcmp(row, BLOCK BLOCK BLOCK BLOCK " " BLOCK BLOCK BLOCK BLOCK));
    /* Every digit differs from every other somewhere. */
    for (char a = '0'; a <= '9'; a++) {
        for (char b = a + 1; b <= '9'; b++) {
            bool differ = false;
            for (int r = 0; r < ST_DIGIT_ROWS; r++) {
                char ra[64], rb[64], sa[2] = {a, 0}, sb[2] = {b, 0};
                st_digits_row(sa, r, 1, 1, ra, sizeof(ra));
                st_digits_row(sb, r, 1, 1, rb, sizeof(rb));
                differ |= strcmp(ra, rb) != 0;
            }
            CHECK(differ);
        }
    }
    /* Too small a buffer: an empty row, never an overflow. */
    CHECK(st_digits_row("8888", 0, 2, 2, row, 10) == -1);
    CHECK(row[0] == '\0');
}

static void language_follows_the_locale_variables(void)
{
    /* The program picks the variable (cmd_station.c); the text follows its value. */
    CHECK(st_text_lang_for("zh_CN.UTF-8") == ST_LANG_ZH);
    CHECK(st_text_lang_for("C") == ST_LANG_EN);
    CHECK(st_text_lang_for("zh_TW.UTF-8") == ST_LANG_ZH);
    CHECK(st_text_lang_for("en_GB.UTF-8") == ST_LANG_EN);
    CHECK(st_text_lang_for(NULL) == ST_LANG_EN);
    CHECK(st_text_lang_for("") == ST_LANG_EN);
    CHECK(strcmp(st_text_get(ST_LANG_ZH)->key_play, st_text_get(ST_LANG_EN)->key_play) != 0);
}

static void texts_fill_their_placeholders(void)
{
    const struct st_text *zh = st_text_get(ST_LANG_ZH), *en = st_text_get(ST_LANG_EN);
    char buf[128];

    st_text_fill(buf, sizeof(buf), en->count_new, "2", NULL);
    CHECK(!strcmp(buf, "New messages: 2"));
    st_text_fill(buf, sizeof(buf), zh->count_new, "2", NULL);
    CHECK(!strcmp(buf, "2 条新消息"));
    st_text_fill(buf, sizeof(buf), en->playing, "1", "2");
    CHECK(!strcmp(buf, "Playing 1 of 2"));
    st_text_fill(buf, sizeof(buf), en->quota_now, "250", NULL);
    CHECK(!strcmp(buf, "Now: 250 MB"));
    st_text_fill(buf, sizeof(buf), "100%% %s", "a", NULL);
    CHECK(!strcmp(buf, "100% a"));
    st_text_fill(buf, 6, en->count_new, "12345678", NULL);
    CHECK(!strcmp(buf, "New m"));
    /* Every text of both languages exists: no NULL reaches the screen. */
    for (int lang = ST_LANG_EN; lang <= ST_LANG_ZH; lang++) {
        const char *const *s = (const char *const *)st_text_get(lang);
        for (size_t i = 0; i < sizeof(struct st_text) / sizeof(char *); i++)
            CHECK(s[i] && s[i][0]);
    }
}

int main(void)
{
    big_digits_have_the_right_shape();
    language_follows_the_locale_variables();
    texts_fill_their_placeholders();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}

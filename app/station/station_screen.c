/*
 * The keypad screen on a terminal. Every draw starts from an erased screen
 * and a full repaint, so nothing of an earlier screen (an earlier family)
 * can survive on the terminal.
 */
#include "station_screen.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "station_digits.h"

enum {
    PAIR_TEXT = 1,
    PAIR_BAR,
    PAIR_BIG,
};

static bool opened;

int st_screen_open(void)
{
    const char *ctype;

    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return -ENOTTY;
    /* Wide characters need a UTF-8 character type even where the asked-for
     * locale is not installed (zh_CN.UTF-8 often is not). */
    setlocale(LC_ALL, "");
    ctype = setlocale(LC_CTYPE, NULL);
    if (!ctype || (!strstr(ctype, "UTF-8") && !strstr(ctype, "utf8")))
        setlocale(LC_CTYPE, "C.UTF-8");
    if (!initscr())
        return -ENOTTY;
    opened = true;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
        start_color();
        init_pair(PAIR_TEXT, COLOR_WHITE, COLOR_BLACK);
        init_pair(PAIR_BAR, COLOR_BLACK, COLOR_YELLOW);
        init_pair(PAIR_BIG, COLOR_YELLOW, COLOR_BLACK);
        bkgd(COLOR_PAIR(PAIR_TEXT));
    }
    return 0;
}

void st_screen_close(void)
{
    if (!opened)
        return;
    erase();
    refresh();
    endwin();
    opened = false;
}

int st_screen_read_key(int timeout_ms)
{
    int ch;

    timeout(timeout_ms);
    ch = getch();
    if ((ch >= '0' && ch <= '9') || ch == '*' || ch == '#')
        return ch;
    switch (ch) {
    case '\n':
    case '\r':
    case KEY_ENTER:
        return ST_KEY_ENTER;
    case KEY_BACKSPACE:
    case 127:
    case 8:
    case KEY_DC:
        return ST_KEY_BACK;
    }
    return -1;
}

void st_screen_flush_input(void)
{
    flushinp();
}

/* ---- text placement ------------------------------------------------------- */

/* Display width of the first n bytes of a UTF-8 string, and how many bytes
 * fit within max cells (*fit). */
static int text_width(const char *s, size_t n, int max, size_t *fit)
{
    mbstate_t st;
    size_t pos = 0;
    int width = 0;

    memset(&st, 0, sizeof(st));
    *fit = 0;
    while (pos < n) {
        wchar_t wc;
        size_t len = mbrtowc(&wc, s + pos, n - pos, &st);
        int w;
        if (len == (size_t)-1 || len == (size_t)-2 || len == 0)
            break;
        w = wcwidth(wc);
        if (w < 0)
            w = 1;
        if (width + w > max)
            break;
        width += w;
        pos += len;
        *fit = pos;
    }
    return width;
}

static int attr_text(void)
{
    return A_BOLD | (has_colors() ? COLOR_PAIR(PAIR_TEXT) : 0);
}

/* Draws text centred on row y, cut to the screen's width. */
static void center(int y, const char *text, int attr)
{
    size_t fit;
    int w;

    if (y < 0 || y >= LINES)
        return;
    w = text_width(text, strlen(text), COLS, &fit);
    attron(attr);
    mvaddnstr(y, (COLS - w) / 2, text, (int)fit);
    attroff(attr);
}

/* Draws text word-wrapped over at most max_lines rows from y; returns the
 * rows used. Chinese has no spaces: it breaks anywhere. */
static int wrapped(int y, const char *text, int max_lines, int attr)
{
    char line[512];
    const char *p = text;
    int used = 0;

    while (*p && used < max_lines) {
        size_t fit, cut;
        int limit = COLS - 2 > 0 ? COLS - 2 : COLS;
        text_width(p, strlen(p), limit, &fit);
        cut = fit;
        if (p[fit] && fit) {
            for (size_t i = fit; i > 0; i--) {
                if (p[i] == ' ') {
                    cut = i;
                    break;
                }
            }
        }
        if (!cut)
            break;
        if (cut >= sizeof(line))
            cut = sizeof(line) - 1;
        memcpy(line, p, cut);
        line[cut] = '\0';
        center(y + used, line, attr);
        used++;
        p += cut;
        while (*p == ' ')
            p++;
    }
    return used;
}

/* A text with up to two placeholders filled, word-wrapped over two rows. */
static void formatted(int y, int attr, const char *tmpl, const char *a, const char *b)
{
    char buf[512];

    st_text_fill(buf, sizeof(buf), tmpl, a, b);
    wrapped(y, buf, 2, attr);
}

/* A number as text, in a buffer the caller provides. */
static const char *num(char *buf, long long n)
{
    snprintf(buf, 24, "%lld", n);
    return buf;
}

/* Big text centred from row y at the largest scale up to max_scale that
 * fits; plain bold text when even the smallest does not. Returns the rows
 * used. */
static int big(int y, const char *text, int max_scale)
{
    char row[2048];
    int attr = A_BOLD | (has_colors() ? COLOR_PAIR(PAIR_BIG) : 0);
    int scale = max_scale;

    if (!*text)
        return 0;
    while (scale > 1 && st_digits_width(text, scale) > COLS)
        scale--;
    if (st_digits_width(text, scale) > COLS) {
        center(y, text, attr);
        return 1;
    }
    for (int r = 0; r < ST_DIGIT_ROWS * scale; r++) {
        int w = st_digits_row(text, r, scale, scale, row, sizeof(row));
        if (w < 0 || y + r >= LINES)
            break;
        attron(attr);
        mvaddstr(y + r, (COLS - w) / 2, row);
        attroff(attr);
    }
    return ST_DIGIT_ROWS * scale;
}

/* ---- screens ---------------------------------------------------------------- */

struct layout {
    bool large;
    int scale;     /* of the big digits */
    int big_y;     /* first row of the big digits */
    int text_y;    /* first row of the words under them */
    int hints_y;   /* first row of the key hints */
    int hint_rows; /* rows the hints may take */
};

static struct layout layout_for_screen(void)
{
    struct layout l;

    l.large = COLS >= 60 && LINES >= 20;
    l.scale = l.large ? 2 : 1;
    l.big_y = l.large ? 2 : 1;
    l.text_y = l.big_y + ST_DIGIT_ROWS * l.scale + 1;
    l.hint_rows = l.large ? 5 : 2;
    l.hints_y = LINES - l.hint_rows - (l.large ? 1 : 0);
    if (!l.large)
        l.text_y = l.big_y + ST_DIGIT_ROWS;
    return l;
}

static void bar(const struct st_view *v, const struct st_screen_info *info, const struct st_text *t)
{
    int attr = A_BOLD | (has_colors() ? COLOR_PAIR(PAIR_BAR) : A_REVERSE);
    char right[128] = "";
    size_t fit;
    int w;

    attron(attr);
    mvhline(0, 0, ' ', COLS);
    mvaddstr(0, 1, t->title);
    if (info->quiet)
        snprintf(right, sizeof(right), "%s", t->quiet_badge);
    if (info->full)
        snprintf(right + strlen(right), sizeof(right) - strlen(right), "%s%s", right[0] ? " " : "",
                 t->full_badge);
    if (v->station && v->family &&
        (v->screen == ST_SCREEN_HOME || v->screen == ST_SCREEN_PLAYING ||
         v->screen == ST_SCREEN_RECORDING || v->screen == ST_SCREEN_NOTICE ||
         v->screen == ST_SCREEN_PIN))
        snprintf(right + strlen(right), sizeof(right) - strlen(right), "%s[%u]",
                 right[0] ? " " : "", v->family);
    w = text_width(right, strlen(right), COLS / 2, &fit);
    mvaddnstr(0, COLS - w - 1 > 0 ? COLS - w - 1 : 0, right, (int)fit);
    attroff(attr);
}

/* Key hints: one per row on a large screen, two per row on a small one. */
static void hints(const struct layout *l, const char *const *keys, int n)
{
    char row[256];
    int y = l->hints_y;

    if (l->large) {
        for (int i = 0; i < n && i < l->hint_rows; i++)
            center(y + i, keys[i], attr_text());
        return;
    }
    for (int i = 0; i < n && y < LINES; i += 2, y++) {
        if (i + 1 < n)
            snprintf(row, sizeof(row), "%s   %s", keys[i], keys[i + 1]);
        else
            snprintf(row, sizeof(row), "%s", keys[i]);
        center(y, row, attr_text());
    }
}

static void stars(char *out, size_t size, size_t n)
{
    size_t i;

    for (i = 0; i < n && i + 1 < size; i++)
        out[i] = '*';
    out[i] = '\0';
}

static const char *notice_text(const struct st_view *v, const struct st_text *t,
                               const struct st_screen_info *info, char *buf, size_t size)
{
    char n1[24];

    switch (v->notice) {
    case ST_NOTICE_SENT:
        return t->sent;
    case ST_NOTICE_NOTHING_NEW:
        return t->nothing_new;
    case ST_NOTICE_NOTHING_YET:
        return t->nothing_yet;
    case ST_NOTICE_ADDED:
        st_text_fill(buf, size, t->added, num(n1, v->family), NULL);
        return buf;
    case ST_NOTICE_PIN_MISMATCH:
        return t->pin_mismatch;
    case ST_NOTICE_PIN_SHORT:
        return t->pin_short;
    case ST_NOTICE_SAVED:
        return t->saved;
    case ST_NOTICE_BAD_TIME:
        return t->bad_time;
    case ST_NOTICE_DISCARDED:
        return t->discarded;
    case ST_NOTICE_FAILED:
        st_text_fill(buf, size, t->failed, info->strerror ? info->strerror(v->error) : "?", NULL);
        return buf;
    case ST_NOTICE_NONE:
        break;
    }
    return "";
}

static void human_bytes(char *buf, size_t size, int64_t bytes)
{
    if (bytes < 0)
        snprintf(buf, size, "?");
    else if (bytes < 1024 * 1024)
        snprintf(buf, size, "%lld KB", (long long)((bytes + 1023) / 1024));
    else
        snprintf(buf, size, "%.1f MB", (double)bytes / (1024.0 * 1024.0));
}

static void draw_list(const struct st_view *v, const struct st_text *t, const struct layout *l)
{
    char row[256], size[32], when[32];
    int y = l->large ? 3 : 2;

    if (!v->nrows) {
        center(y + 1, t->list_empty, attr_text());
    } else {
        center(y, t->list_head, attr_text());
        for (int i = v->first_row; i < v->nrows && i < v->first_row + 4; i++) {
            const struct st_family_row *r = &v->rows[i];
            human_bytes(size, sizeof(size), r->bytes);
            if (r->last_sync > 0) {
                time_t ts = (time_t)r->last_sync;
                struct tm tm;
                localtime_r(&ts, &tm);
                strftime(when, sizeof(when), "%m-%d %H:%M", &tm);
            } else {
                snprintf(when, sizeof(when), "%s", t->never);
            }
            if (r->unplayed >= 0)
                snprintf(row, sizeof(row), "%-6u %8s  %-11s %4d", r->number, size, when,
                         r->unplayed);
            else
                snprintf(row, sizeof(row), "%-6u %8s  %-11s %4s", r->number, size, when, "-");
            center(y + 1 + (i - v->first_row) * (l->large ? 2 : 1), row, attr_text());
        }
    }
    center(LINES - 2, t->list_hint, attr_text());
}

void st_screen_draw(const struct st_view *v, const struct st_screen_info *info)
{
    const struct st_text *t = st_text_get(info->lang);
    struct layout l = layout_for_screen();
    char buf[512], digits[64], n1[24], n2[24];
    const char *keys[6];
    int nkeys = 0;

    erase();
    if (COLS < 20 || LINES < 8) {
        center(0, t->too_small, attr_text());
        refresh();
        return;
    }
    bar(v, info, t);

    switch (v->screen) {
    case ST_SCREEN_START:
        big(l.big_y, v->entry, l.scale);
        wrapped(l.text_y, t->start, 2, attr_text());
        keys[nkeys++] = t->clear_hint;
        keys[nkeys++] = t->teacher_hint;
        break;
    case ST_SCREEN_PIN:
    case ST_SCREEN_TEACHER_PIN:
    case ST_SCREEN_TEACHER_NEWPIN:
        stars(digits, sizeof(digits), strlen(v->entry));
        big(l.big_y, digits, l.scale);
        if (v->screen == ST_SCREEN_PIN)
            formatted(l.text_y, attr_text(), t->pin, num(n1, v->family), NULL);
        else if (v->screen == ST_SCREEN_TEACHER_PIN)
            wrapped(l.text_y, t->teacher_pin, 2, attr_text());
        else
            wrapped(l.text_y, v->step ? t->newpin_again : t->newpin, 2, attr_text());
        keys[nkeys++] = t->key_leave;
        break;
    case ST_SCREEN_REFUSED:
        snprintf(digits, sizeof(digits), "%d", (int)((v->wait_ms + 999) / 1000));
        big(l.big_y, digits, l.scale);
        center(l.text_y, t->refused, attr_text());
        formatted(l.text_y + 1, attr_text(), t->wait, num(n1, (v->wait_ms + 999) / 1000), NULL);
        break;
    case ST_SCREEN_HOME:
        if (v->new_count >= 0) {
            snprintf(digits, sizeof(digits), "%d", v->new_count);
            big(l.big_y, digits, l.scale);
        }
        if (v->new_count > 0)
            formatted(l.text_y, attr_text(), t->count_new, num(n1, v->new_count), NULL);
        else if (v->new_count == 0)
            center(l.text_y, t->none_new, attr_text());
        if (v->bedtime > 0)
            formatted(l.text_y + 1, attr_text(), t->bedtime,
                      v->bedtime_from[0] ? v->bedtime_from : "?", NULL);
        keys[nkeys++] = t->key_play;
        keys[nkeys++] = t->key_record;
        keys[nkeys++] = t->key_again;
        if (v->station)
            keys[nkeys++] = t->key_leave;
        break;
    case ST_SCREEN_REVIEW:
        wrapped(l.text_y, v->step ? t->discard_ask : t->review, 2, attr_text());
        keys[nkeys++] = t->review_listen;
        keys[nkeys++] = t->review_again;
        keys[nkeys++] = t->review_send;
        keys[nkeys++] = t->review_discard;
        break;
    case ST_SCREEN_PLAYING:
        snprintf(digits, sizeof(digits), "%d", v->play_index);
        big(l.big_y, digits, l.scale);
        formatted(l.text_y, attr_text(), t->playing, num(n1, v->play_index),
                  num(n2, v->play_total));
        if (v->from[0])
            formatted(l.text_y + 2, attr_text(), t->from, v->from, NULL);
        if (v->paused || (v->speed && v->speed != ST_SPEED_NORMAL))
            formatted(l.text_y + 3, attr_text(), v->paused ? t->paused : t->speed,
                      num(n1, v->speed), NULL);
        if (v->speed) { /* a letter, not one's own reply under review */
            keys[nkeys++] = t->play_pause;
            keys[nkeys++] = t->play_back;
            keys[nkeys++] = t->play_again;
            keys[nkeys++] = t->play_next;
            keys[nkeys++] = t->play_speed;
            keys[nkeys++] = t->play_stop;
        } else {
            keys[nkeys++] = t->stop_hint;
        }
        break;
    case ST_SCREEN_RECORDING:
        snprintf(digits, sizeof(digits), "%d", v->record_seconds);
        big(l.big_y, digits, l.scale);
        formatted(l.text_y, attr_text(), t->recording, num(n1, v->record_seconds), NULL);
        keys[nkeys++] = t->record_hint;
        break;
    case ST_SCREEN_NOTICE:
        if (v->notice == ST_NOTICE_ADDED) {
            snprintf(digits, sizeof(digits), "%u", v->family);
            big(l.big_y, digits, l.scale);
        }
        wrapped(l.text_y, notice_text(v, t, info, buf, sizeof(buf)), 3, attr_text());
        break;
    case ST_SCREEN_BUSY:
        center(LINES / 2, t->busy, attr_text());
        break;
    case ST_SCREEN_TEACHER_MENU:
        keys[0] = t->menu_add;
        keys[1] = t->menu_list;
        keys[2] = t->menu_quiet;
        keys[3] = t->menu_quota;
        keys[4] = t->menu_voice;
        keys[5] = t->menu_leave;
        for (int i = 0; i < 6; i++)
            center((l.large ? 3 : 2) + i * (l.large ? 3 : 1), keys[i], attr_text());
        break;
    case ST_SCREEN_TEACHER_VOICE: {
        int voice = v->settings.voice >= 0 && v->settings.voice <= 3 ? v->settings.voice : 2;
        snprintf(digits, sizeof(digits), "%d", voice);
        big(l.big_y, digits, l.scale);
        wrapped(l.text_y, t->voice, 2, attr_text());
        formatted(l.text_y + 2, attr_text(), t->quiet_now, t->voice_names[voice], NULL);
        keys[nkeys++] = t->key_leave;
        break;
    }
    case ST_SCREEN_TEACHER_CODE:
        big(l.big_y, v->entry, l.scale);
        wrapped(l.text_y, t->code, 2, attr_text());
        keys[nkeys++] = t->key_leave;
        break;
    case ST_SCREEN_TEACHER_LIST:
        draw_list(v, t, &l);
        break;
    case ST_SCREEN_TEACHER_QUIET: {
        char now[64];
        big(l.big_y, v->entry, l.scale);
        wrapped(l.text_y, v->step ? t->quiet_end : t->quiet_start, 2, attr_text());
        if (v->settings.quiet_start != v->settings.quiet_end)
            snprintf(now, sizeof(now), "%02d:%02d-%02d:%02d", v->settings.quiet_start / 60,
                     v->settings.quiet_start % 60, v->settings.quiet_end / 60,
                     v->settings.quiet_end % 60);
        else
            snprintf(now, sizeof(now), "%s", t->quiet_off);
        formatted(l.text_y + 2, attr_text(), t->quiet_now, now, NULL);
        keys[nkeys++] = t->key_leave;
        break;
    }
    case ST_SCREEN_TEACHER_QUOTA:
        big(l.big_y, v->entry, l.scale);
        wrapped(l.text_y, t->quota, 2, attr_text());
        if (v->settings.quota_mb > 0)
            formatted(l.text_y + 2, attr_text(), t->quota_now, num(n1, v->settings.quota_mb), NULL);
        else
            center(l.text_y + 2, t->quota_none, attr_text());
        keys[nkeys++] = t->key_leave;
        break;
    }
    if (nkeys)
        hints(&l, keys, nkeys);
    refresh();
}

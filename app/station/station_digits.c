#include "station_digits.h"

#include <string.h>

static const struct {
    char c;
    const char *rows[ST_DIGIT_ROWS];
} glyphs[] = {
    {'0', {"####", "#  #", "#  #", "#  #", "####"}},
    {'1', {"  # ", " ## ", "  # ", "  # ", " ###"}},
    {'2', {"####", "   #", "####", "#   ", "####"}},
    {'3', {"####", "   #", " ###", "   #", "####"}},
    {'4', {"#  #", "#  #", "####", "   #", "   #"}},
    {'5', {"####", "#   ", "####", "   #", "####"}},
    {'6', {"####", "#   ", "####", "#  #", "####"}},
    {'7', {"####", "   #", "  # ", " #  ", " #  "}},
    {'8', {"####", "#  #", "####", "#  #", "####"}},
    {'9', {"####", "#  #", "####", "   #", "####"}},
    {'*', {"    ", "# # ", " #  ", "# # ", "    "}},
    {'#', {" # #", "####", " # #", "####", " # #"}},
    {':', {"    ", " #  ", "    ", " #  ", "    "}},
    {'-', {"    ", "    ", "####", "    ", "    "}},
};

static const char *glyph_row(char c, int row)
{
    for (size_t i = 0; i < sizeof(glyphs) / sizeof(glyphs[0]); i++)
        if (glyphs[i].c == c)
            return glyphs[i].rows[row];
    return "    ";
}

int st_digits_width(const char *text, int sx)
{
    size_t n = strlen(text);

    if (!n || sx < 1)
        return 0;
    return (int)(n * ST_DIGIT_COLS + (n - 1) * ST_DIGIT_GAP) * sx;
}

int st_digits_row(const char *text, int row, int sx, int sy, char *out, size_t size)
{
    static const char block[] = "\xe2\x96\x88"; /* U+2588 FULL BLOCK */
    size_t used = 0;
    int width = 0;

    if (size)
        out[0] = '\0';
    if (sx < 1 || sy < 1 || row < 0 || row >= ST_DIGIT_ROWS * sy)
        return -1;
    for (const char *p = text; *p; p++) {
        const char *g = glyph_row(*p, row / sy);
        for (int col = 0; col < ST_DIGIT_COLS + (p[1] ? ST_DIGIT_GAP : 0); col++) {
            int on = col < ST_DIGIT_COLS && g[col] == '#';
            for (int k = 0; k < sx; k++) {
                size_t need = on ? 3 : 1;
                if (used + need + 1 > size) {
                    if (size)
                        out[0] = '\0';
                    return -1;
                }
                memcpy(out + used, on ? block : " ", need);
                used += need;
                width++;
            }
        }
    }
    out[used] = '\0';
    return width;
}

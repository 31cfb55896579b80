#include "live_record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/audio/audio.h"
#include "commands.h"
#include "keys.h"
#include "util/util.h"

struct session {
    js_recording *rec;
    uint64_t fed, limit; /* frames at AUDIO_RATE */
    bool paused;
    float level; /* RMS of the last chunk, 0..1 */
    int store_error;
};

unsigned live_record_max_seconds(js_store *store)
{
    char value[32];
    uint64_t seconds;

    if (js_setting_get(store, JS_SETTING_RECORD_MAX_SECONDS, value, sizeof(value)) < 0 ||
        ju_parse_u64(value, JC_MAX_NOTE_SECONDS, &seconds) < 0 || seconds < 1)
        return LIVE_RECORD_DEFAULT_MAX;
    return (unsigned)seconds;
}

static int feed(void *user, const float *mono, size_t frames)
{
    struct session *s = user;
    double sum = 0;
    int ret;

    for (size_t i = 0; i < frames; i++)
        sum += (double)mono[i] * mono[i];
    s->level = frames ? (float)sqrt(sum / (double)frames) : 0;
    if (s->paused)
        return 0;
    if (frames > s->limit - s->fed)
        frames = (size_t)(s->limit - s->fed);
    ret = js_recording_write(s->rec, mono, frames);
    if (ret < 0) {
        s->store_error = ret;
        return ret;
    }
    s->fed += frames;
    return 0;
}

/* "● 00:12 / 05:00 [########            ]" on one line, redrawn in place.
 * The meter is logarithmic over 50 dB, as ears are. */
static void draw(const struct session *s)
{
    char bar[21];
    double db = s->level > 0 ? 20 * log10(s->level) : -100;
    int filled = (int)((db + 50) / 50 * 20);
    unsigned elapsed = (unsigned)(s->fed / AUDIO_RATE);
    unsigned limit = (unsigned)(s->limit / AUDIO_RATE);

    if (filled < 0)
        filled = 0;
    if (filled > 20)
        filled = 20;
    for (int i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : ' ';
    bar[20] = '\0';
    printf("\r%s %02u:%02u / %02u:%02u [%s]  %s ", s->paused ? "||" : "()", elapsed / 60,
           elapsed % 60, limit / 60, limit % 60, bar,
           s->paused ? _("paused, space resumes") : _("Enter stops, space pauses"));
    fflush(stdout);
}

int live_record_run(js_recording *rec, unsigned max_seconds, bool *discard, char id[JS_ID_LEN + 1])
{
    struct session s = {.rec = rec};
    struct audio_capture *cap;
    bool interactive = keys_interactive();
    int ret, device_error = 0, status = 1;

    *discard = true;
    s.limit = (uint64_t)(max_seconds ? max_seconds : LIVE_RECORD_DEFAULT_MAX) * AUDIO_RATE;
    ret = audio_init();
    if (ret < 0)
        return app_fail("record: %s", app_strerror(ret));
    ret = audio_capture_create(&cap);
    if (ret < 0) {
        app_fail("record: %s", app_strerror(ret));
        goto error_audio;
    }
    keys_init();
    while (s.fed < s.limit) {
        enum key_event key = keys_poll();
        if (key == KEY_STOP)
            break;
        if (key == KEY_PAUSE)
            s.paused = !s.paused;
        ret = audio_capture_pump(cap, feed, &s);
        if (ret < 0) {
            /* Ctrl-C can interrupt the device's wait; that is a stop. */
            if (!s.store_error && keys_poll() != KEY_STOP)
                device_error = ret;
            break;
        }
        if (interactive)
            draw(&s);
    }
    keys_finish();
    if (interactive)
        printf("\n");
    audio_capture_destroy(cap);
    cap = NULL;

    if (s.store_error) {
        /* The store keeps what it committed; the next open finalises it. */
        *discard = false;
        app_fail("record: stopped after %.1f s: %s", (double)s.fed / AUDIO_RATE,
                 app_strerror(s.store_error));
        goto error_audio;
    }
    if (s.fed == 0) {
        app_fail("record: %s", device_error ? app_strerror(device_error)
                                            : _("stopped before anything was recorded"));
        goto error_audio;
    }
    *discard = false;
    ret = js_recording_finish(rec, id);
    if (ret < 0) {
        app_fail("record: cannot finish: %s", app_strerror(ret));
        goto error_audio;
    }
    if (device_error) {
        app_fail("record: %s after %.1f s; what was recorded is kept as %s",
                 app_strerror(device_error), (double)s.fed / AUDIO_RATE, id);
        goto error_audio;
    }
    printf("%s\n", id);
    status = 0;

error_audio:
    audio_finish();
    return status;
}

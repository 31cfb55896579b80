// The C++ side of speed.h: SoundTouch, with its float samples, behind C
// functions that never let an exception out.
#include <new>
#include <stdint.h>

#include <SoundTouch.h>

extern "C" {
#include "app/audio/audio.h"
}

#include <errno.h>

namespace {
const size_t BLOCK = 1024;
}

struct speed {
    soundtouch::SoundTouch st;
    float buf[BLOCK];
};

extern "C" int speed_create(unsigned rate, double tempo, struct speed **out)
{
    if (!(tempo >= SPEED_MIN && tempo <= SPEED_MAX) || rate < 8000 || rate > 48000)
        return -EINVAL;
    struct speed *sp = new (std::nothrow) speed;
    if (!sp)
        return -ENOMEM;
    sp->st.setSampleRate(rate);
    sp->st.setChannels(1);
    sp->st.setTempo(tempo);
    // Speech: a shorter sequence than SoundTouch's music default keeps
    // syllables crisp; the full search, not the quick one, avoids warble.
    sp->st.setSetting(SETTING_SEQUENCE_MS, 40);
    sp->st.setSetting(SETTING_SEEKWINDOW_MS, 15);
    sp->st.setSetting(SETTING_OVERLAP_MS, 8);
    sp->st.setSetting(SETTING_USE_QUICKSEEK, 0);
    *out = sp;
    return 0;
}

extern "C" int speed_put(struct speed *sp, const int16_t *pcm, size_t frames)
{
    try {
        while (frames > 0) {
            size_t n = frames < BLOCK ? frames : BLOCK;
            for (size_t i = 0; i < n; i++)
                sp->buf[i] = pcm[i] / 32768.0f;
            sp->st.putSamples(sp->buf, (unsigned)n);
            pcm += n;
            frames -= n;
        }
    } catch (...) {
        return -ENOMEM;
    }
    return 0;
}

extern "C" void speed_flush(struct speed *sp)
{
    try {
        sp->st.flush();
    } catch (...) {
    }
}

extern "C" size_t speed_take(struct speed *sp, int16_t *pcm, size_t max_frames)
{
    size_t done = 0;

    while (done < max_frames) {
        size_t want = max_frames - done < BLOCK ? max_frames - done : BLOCK;
        unsigned got = sp->st.receiveSamples(sp->buf, (unsigned)want);
        if (got == 0)
            break;
        for (unsigned i = 0; i < got; i++) {
            float v = sp->buf[i] * 32768.0f;
            pcm[done + i] = (int16_t)(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
        }
        done += got;
    }
    return done;
}

extern "C" void speed_destroy(struct speed *sp)
{
    delete sp;
}

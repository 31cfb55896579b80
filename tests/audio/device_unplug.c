/*
 * Preloaded under a program in the fault tests: after a set number of frames
 * has gone through an ALSA PCM, every further call on it fails with -ENODEV,
 * which is what alsa-lib returns when a USB microphone or headset is pulled
 * out. PortAudio and everything above it run unchanged; only the device
 * "disappears".
 *   JIASHU_TEST_UNPLUG_CAPTURE_AFTER=FRAMES   the microphone goes away
 *   JIASHU_TEST_UNPLUG_PLAYBACK_AFTER=FRAMES  the speaker goes away
 * Frames are counted at the rate PortAudio opened the device with.
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

static unsigned long long moved[2];

static int gone(snd_pcm_t *pcm)
{
    snd_pcm_stream_t dir = snd_pcm_stream(pcm);
    const char *env = getenv(dir == SND_PCM_STREAM_CAPTURE ? "JIASHU_TEST_UNPLUG_CAPTURE_AFTER"
                                                           : "JIASHU_TEST_UNPLUG_PLAYBACK_AFTER");
    return env && *env && moved[dir] >= strtoull(env, NULL, 10);
}

static void count(snd_pcm_t *pcm, long frames)
{
    if (frames > 0)
        moved[snd_pcm_stream(pcm)] += (unsigned long long)frames;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

__attribute__((visibility("default"))) snd_pcm_sframes_t snd_pcm_avail_update(snd_pcm_t *pcm)
{
    if (gone(pcm))
        return -ENODEV;
    return REAL(snd_pcm_avail_update)(pcm);
}

__attribute__((visibility("default"))) snd_pcm_sframes_t snd_pcm_avail(snd_pcm_t *pcm)
{
    if (gone(pcm))
        return -ENODEV;
    return REAL(snd_pcm_avail)(pcm);
}

__attribute__((visibility("default"))) snd_pcm_sframes_t
snd_pcm_mmap_commit(snd_pcm_t *pcm, snd_pcm_uframes_t offset, snd_pcm_uframes_t frames)
{
    snd_pcm_sframes_t ret;

    if (gone(pcm))
        return -ENODEV;
    ret = REAL(snd_pcm_mmap_commit)(pcm, offset, frames);
    count(pcm, ret);
    return ret;
}

__attribute__((visibility("default"))) snd_pcm_sframes_t snd_pcm_readi(snd_pcm_t *pcm, void *buffer,
                                                                       snd_pcm_uframes_t size)
{
    snd_pcm_sframes_t ret;

    if (gone(pcm))
        return -ENODEV;
    ret = REAL(snd_pcm_readi)(pcm, buffer, size);
    count(pcm, ret);
    return ret;
}

__attribute__((visibility("default"))) snd_pcm_sframes_t
snd_pcm_writei(snd_pcm_t *pcm, const void *buffer, snd_pcm_uframes_t size)
{
    snd_pcm_sframes_t ret;

    if (gone(pcm))
        return -ENODEV;
    ret = REAL(snd_pcm_writei)(pcm, buffer, size);
    count(pcm, ret);
    return ret;
}

__attribute__((visibility("default"))) snd_pcm_state_t snd_pcm_state(snd_pcm_t *pcm)
{
    if (gone(pcm))
        return SND_PCM_STATE_DISCONNECTED;
    return REAL(snd_pcm_state)(pcm);
}

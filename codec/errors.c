#include <string.h>

#include "codec.h"

const char *jc_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case JC_ERR_WAV_FORMAT:
        return "not a WAV file this program can read (PCM 8/16/24/32-bit or float, mono or stereo)";
    case JC_ERR_WAV_RATE:
        return "the WAV sample rate must be between 8000 and 48000 Hz";
    case JC_ERR_NOT_OGG:
        return "not an Ogg file";
    case JC_ERR_NOT_OPUS:
        return "not an Opus voice note (Ogg, but no Opus stream)";
    case JC_ERR_TRUNCATED:
        return "the voice note is truncated";
    case JC_ERR_CHANNELS:
        return "not a mono voice note";
    case JC_ERR_DURATION:
        return "the voice note's timing is impossible";
    case JC_ERR_TOO_LONG:
        return "the voice note is longer than the limit of 10 minutes";
    case JC_ERR_EMPTY:
        return "the voice note holds no audio";
    case JC_ERR_CORRUPT:
        return "the voice note is damaged";
    case JC_ERR_ENCODER:
        return "the Opus encoder failed";
    case JC_ERR_BITRATE:
        return "the bitrate must be between 6000 and 64000 bit/s";
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

/*
 * jiashu util: the helpers every part shares, at the bottom of the stack.
 * It knows nothing of voice notes, stores or relays; every other part may
 * include this header, and this header includes no other part.
 *
 * Errors, across the whole project: a function that can fail returns 0 (or
 * a count, where said) on success and a negative code on failure, either
 * -errno (-ENOMEM, -EIO, ...) or a code from one part's range below.
 * ju_strerror() explains any of them; it is the one table of messages, so a
 * part never includes another part's header just to explain an error.
 */
#ifndef JIASHU_UTIL_H
#define JIASHU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each part owns one thousand codes, counted down from its base. */
enum ju_error_range {
    JU_ERR_CODEC_BASE = -1000, /* codec/codec.h: JC_ERR_* */
    JU_ERR_STORE_BASE = -2000, /* store/store.h: JS_ERR_* */
    JU_ERR_RELAY_BASE = -3000, /* net/relay/relay.h: JN_ERR_* of the server */
    JU_ERR_SYNC_BASE = -3100,  /* net/sync/sync.h: JN_ERR_* of the client */
    JU_ERR_AUDIO_BASE = -4000, /* app/audio/audio.h: AUDIO_ERR_* */
    JU_ERR_E2E_BASE = -5000,   /* net/e2e/e2e.h: JE_ERR_* */
};

/* ---- the size of a voice note ----
 * The longest voice note anyone may send or receive, in seconds, and the
 * highest bitrate it may be encoded at. Every size limit on audio in the
 * project derives from these: codec.h names them JC_MAX_NOTE_SECONDS,
 * JC_MAX_BITRATE and JC_MAX_NOTE_BYTES, the store and the client take them
 * from there, and the relay, which sees only util, from here. */
#define JU_MAX_NOTE_SECONDS 600
#define JU_MAX_BITRATE      64000

/* The most bytes a note of seconds at bitrate bit/s may take: the audio,
 * plus a quarter for container overhead and headers from other encoders,
 * plus 64 KiB for tags. */
#define JU_NOTE_BYTES_BOUND(seconds, bitrate)                                                      \
    ((uint64_t)(seconds) * ((uint64_t)(bitrate) / 8) * 5 / 4 + 65536)
#define JU_MAX_NOTE_BYTES JU_NOTE_BYTES_BOUND(JU_MAX_NOTE_SECONDS, JU_MAX_BITRATE)

/* What sealing a note for end-to-end encryption may add (its header and
 * authentication tags take far less), and so the largest upload a relay
 * must take: its default max_message_bytes. */
#define JU_SEAL_OVERHEAD_BYTES (256 * 1024)
#define JU_MAX_UPLOAD_BYTES    (JU_MAX_NOTE_BYTES + JU_SEAL_OVERHEAD_BYTES)

/* One sentence a user can act on, in English (programs translate it with
 * gettext, domain "jiashu"); never NULL. */
const char *ju_strerror(int err);

/* ---- clocks and sleeping (clock.c) ----
 * Monotonic time for deadlines and intervals (never goes back, stops
 * nowhere a user would see); wall time for what is stored or shown. */
int64_t ju_mono_ms(void);
int64_t ju_mono_us(void);
int64_t ju_mono_ns(void);
int64_t ju_wall_ms(void); /* milliseconds since the Unix epoch */

/* Sleeps ms milliseconds, going on after a signal interrupts it. */
void ju_sleep_ms(unsigned ms);

/* ---- hex (hex.c) ---- */

/* The value of one hex digit (either case), or -1. */
int ju_hex_digit(int c);

/* Lower-case hex of n bytes into out, which holds 2n + 1 bytes (NUL-ended). */
void ju_hex_encode(const void *in, size_t n, char *out);

/* Exactly 2n hex digits (either case) of hex into n bytes of out; 0, or
 * -EINVAL for a wrong length or a character that is not a hex digit
 * (out is then unspecified). */
int ju_hex_decode(const char *hex, void *out, size_t n);

/* ---- little-endian fields (WAV and Ogg Opus headers) ---- */

static inline unsigned ju_le16_get(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static inline uint32_t ju_le32_get(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void ju_le16_put(unsigned char *p, unsigned v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
}

static inline void ju_le32_put(unsigned char *p, uint32_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = (v >> 24) & 0xff;
}

/* ---- integers (number.c) ----
 * Strict decimal: the whole string is digits (ju_parse_i64 allows one
 * leading '-'), no spaces, no '+', no base prefix. 0, -EINVAL for anything
 * that is not such a number, -ERANGE when it is outside [min, max]; *out is
 * written only on success. Settings, options and headers all go through
 * these, so "12abc", " 5" and "" mean the same thing everywhere. */
int ju_parse_u64(const char *s, uint64_t max, uint64_t *out);
int ju_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* A time of day "HH:MM" (00:00..23:59, two digits each) as minutes since
 * midnight, and a span "HH:MM-HH:MM" of two different times (it may cross
 * midnight); 0 or -EINVAL. */
int ju_parse_time_of_day(const char *s, int *minute);
int ju_parse_time_span(const char *s, int *start_minute, int *end_minute);

/* ---- randomness (random.c) ---- */

/* n bytes from the kernel's CSPRNG (getrandom); 0 or -errno. Blocks only
 * until the pool is first initialised after boot. */
int ju_random_bytes(void *buf, size_t n);

#endif

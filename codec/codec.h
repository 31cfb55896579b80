/*
 * jiashu codec: speech clean-up, PCM <-> Ogg Opus voice notes, and the
 * validation of every voice note that comes in from outside.
 *
 * The codec knows nothing of files other than WAV input and nothing of the
 * store or the network: encoded bytes leave through a callback, and decoding
 * works on bytes in memory, so the same code serves a file, a database row
 * and a download.
 *
 * Errors: every function that can fail returns 0 (or a count, where said)
 * on success and a negative code on failure: -errno for system errors
 * (-ENOMEM, -EIO, ...) or one of the JC_ERR_* codes below, in the codec's
 * range of util/util.h. ju_strerror() turns any of them into a sentence a
 * user can act on.
 */
#ifndef JIASHU_CODEC_H
#define JIASHU_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define JC_API __attribute__((visibility("default")))

enum jc_error {
    JC_ERR_WAV_FORMAT = -1001, /* not a WAV file, or a sample format we do not read */
    JC_ERR_WAV_RATE = -1002,   /* sample rate outside 8..48 kHz */
    JC_ERR_NOT_OGG = -1003,    /* the bytes are not an Ogg stream */
    JC_ERR_NOT_OPUS = -1004,   /* Ogg, but not an Opus stream (RFC 7845) */
    JC_ERR_TRUNCATED = -1005,  /* the stream stops before its end */
    JC_ERR_CHANNELS = -1006,   /* not a mono voice note */
    JC_ERR_DURATION = -1007,   /* granule positions that make no sense */
    JC_ERR_TOO_LONG = -1008,   /* longer than JC_MAX_NOTE_SECONDS */
    JC_ERR_EMPTY = -1009,      /* no audio at all */
    JC_ERR_CORRUPT = -1010,    /* damaged pages or packets */
    JC_ERR_ENCODER = -1011,    /* the Opus encoder refused (a bug, not user input) */
    JC_ERR_BITRATE = -1012,    /* bitrate outside what a voice note allows */
};

/* The longest voice note anyone may send or receive, in seconds. Every size
 * limit on audio in the project derives from this one constant (defined in
 * util.h, so that the relay, which sees only util, derives from it too). */
#define JC_MAX_NOTE_SECONDS JU_MAX_NOTE_SECONDS

/* Sample rates a WAV input may have. */
#define JC_MIN_INPUT_RATE 8000
#define JC_MAX_INPUT_RATE 48000

/* Bitrates a voice note may be encoded at, in bit/s, and the default (chosen
 * by measurement: see "Voice notes" in README.md). */
#define JC_MIN_BITRATE     6000
#define JC_MAX_BITRATE     JU_MAX_BITRATE
#define JC_DEFAULT_BITRATE 16000

/* Opus always decodes at 48 kHz; voice notes decode to 48 kHz mono. */
#define JC_DECODE_RATE 48000

/* The largest voice note, in bytes, that anything in the project accepts:
 * JC_MAX_NOTE_SECONDS at JC_MAX_BITRATE, plus a quarter for container
 * overhead and headers from other encoders, plus 64 KiB for tags. */
#define JC_MAX_NOTE_BYTES ((size_t)JU_MAX_NOTE_BYTES)

/* ---- WAV input ---------------------------------------------------------- */

typedef struct jc_wav_reader jc_wav_reader;

/* Opens a RIFF/WAVE file: PCM 8/16/24/32-bit integer or 32-bit float,
 * mono or stereo (stereo is downmixed), 8..48 kHz. The header is validated
 * here; a file with an unsupported format fails with JC_ERR_WAV_FORMAT or
 * JC_ERR_WAV_RATE. On success *out owns the open file. */
JC_API int jc_wav_reader_create(const char *path, jc_wav_reader **out);
JC_API unsigned jc_wav_reader_rate(const jc_wav_reader *reader);
/* Total frames announced by the header (may be larger than what the file
 * really holds if it was truncated; reading stops at the real end). */
JC_API uint64_t jc_wav_reader_frames(const jc_wav_reader *reader);
/* Reads up to max_frames mono frames as floats in [-1, 1]. *got is 0 at the
 * end of the data. */
JC_API int jc_wav_reader_read(jc_wav_reader *reader, float *mono, size_t max_frames, size_t *got);
JC_API void jc_wav_reader_destroy(jc_wav_reader *reader);

/* ---- Encoding ----------------------------------------------------------- */

/* Receives encoded Ogg bytes, always whole Ogg pages, in stream order.
 * Returns 0 or a negative error code, which aborts the encoding and is
 * returned by the encoder call that triggered the write. */
typedef int (*jc_write_fn)(void *user, const unsigned char *bytes, size_t len);

/* Speech clean-up in front of the encoder (docs/codec.md has the measure
 * behind it). */
enum jc_cleanup {
    JC_CLEANUP_OFF = 0,      /* resampling only */
    JC_CLEANUP_ADAPTIVE = 1, /* noise suppression (and rumble removal) where the input is
                                noisy; clean speech goes through untouched */
    JC_CLEANUP_ALWAYS = 2,   /* the earlier clean-up, on every note: high-pass, gain
                                control, noise suppression; kept to measure against */
};

struct jc_encoder_config {
    unsigned input_rate; /* Hz, JC_MIN_INPUT_RATE..JC_MAX_INPUT_RATE */
    int bitrate;         /* bits/s; 0 means the default voice-note bitrate */
    int cleanup;         /* enum jc_cleanup; true is JC_CLEANUP_ADAPTIVE */
    /* Longest stretch of audio, in milliseconds, that may be held back
     * before a page is written (at least 180: three 60 ms frames, else
     * -EINVAL). A recording sets 1000 so a crash loses at most a second;
     * 0 means the file default, pages of up to 4.8 s, which favours small
     * container overhead. */
    unsigned max_page_ms;
    /* One user comment for the note's OpusTags, "KEY=value" (a key of
     * printable ASCII other than '=', at most JC_MAX_COMMENT bytes in
     * all), or NULL for none. What travels in it is sealed with the audio
     * (the project's JIASHU_PLAY_AT, docs/station.md); -EINVAL otherwise. */
    const char *comment;
};

/* The longest comment jc_encoder_config.comment may carry. */
#define JC_MAX_COMMENT 128

typedef struct jc_encoder jc_encoder;

/* On success *out is a new encoder that will call write(user, ...) with
 * every page; the caller keeps ownership of user. The OpusHead and OpusTags
 * pages are written by the first jc_encoder_write() or jc_encoder_finish(). */
JC_API int jc_encoder_create(const struct jc_encoder_config *config, jc_write_fn write, void *user,
                             jc_encoder **out);
/* Feeds mono float samples at config->input_rate. */
JC_API int jc_encoder_write(jc_encoder *encoder, const float *mono, size_t frames);
/* Encodes what is left and writes the last page, marked end of stream.
 * JC_ERR_EMPTY if no sample was ever written. jc_encoder_write() fails with
 * JC_ERR_TOO_LONG past JC_MAX_NOTE_SECONDS. After any error the encoder
 * only returns that error again: destroy it. */
JC_API int jc_encoder_finish(jc_encoder *encoder);
JC_API void jc_encoder_destroy(jc_encoder *encoder);

/* ---- Validation and decoding ---------------------------------------------- */

struct jc_note_info {
    uint64_t samples;     /* playable length at 48 kHz, pre-skip and end trim applied */
    double seconds;       /* samples / 48000 */
    unsigned input_rate;  /* the original rate recorded in OpusHead (0 if unknown) */
    uint64_t audio_bytes; /* bytes of Opus packets */
    uint64_t total_bytes; /* bytes of the whole stream */
};

/* Checks that data is one healthy mono Ogg Opus voice note by decoding all
 * of it. Never allocates by a size read from the input. On success fills
 * *info (if not NULL). */
JC_API int jc_note_check(const unsigned char *data, size_t len, struct jc_note_info *info);

/* For a stream cut short (a recording interrupted by a crash): finds the
 * last whole, checksum-valid page that carries audio, marks it end of
 * stream (fixing its CRC in place) and sets *usable_len to the length up to
 * and including it. The result passes jc_note_check(). JC_ERR_EMPTY if no
 * audio page survived. */
JC_API int jc_note_salvage(unsigned char *data, size_t len, size_t *usable_len);

/* Finds the user comment KEY=value in a note's OpusTags (the key matched
 * without regard to case, as for Vorbis comments) and copies its value,
 * NUL-terminated, into value (size bytes). Returns 1 when found, 0 when the
 * note carries no such comment, -ENOSPC when the value does not fit, or
 * the JC_ERR_* of headers that cannot be read. Reads only the two header
 * packets, within the limits jc_note_check() keeps; never allocates by a
 * size read from the input. It does not check the audio: call
 * jc_note_check() for that. */
JC_API int jc_note_comment(const unsigned char *data, size_t len, const char *key, char *value,
                           size_t size);

typedef struct jc_decoder jc_decoder;

/* Opens a voice note held in memory for playback, after checking all of it
 * with jc_note_check() (and failing with its error). The caller keeps data
 * alive and unchanged until jc_decoder_destroy(). Output is 16-bit mono at
 * jc_decoder_rate(), which is always JC_DECODE_RATE, pre-skip and end
 * trimming applied: exactly jc_note_info.samples frames. */
JC_API int jc_decoder_create(const unsigned char *data, size_t len, jc_decoder **out);
JC_API unsigned jc_decoder_rate(const jc_decoder *decoder);
/* Reads up to max_frames mono frames; *got is 0 at the end. */
JC_API int jc_decoder_read(jc_decoder *decoder, int16_t *pcm, size_t max_frames, size_t *got);
/* The same as floats in [-1, 1] (1.0 is 16-bit full scale), without the
 * rounding to integers: what the loudness meter reads. */
JC_API int jc_decoder_read_float(jc_decoder *decoder, float *pcm, size_t max_frames, size_t *got);
/* Plays the note gain_db louder (or quieter), with a look-ahead limiter
 * that keeps every sample at or under JC_PEAK_CEILING_DBFS: peaks are
 * turned down smoothly over a few milliseconds, never clipped. The output
 * stays exactly as long. Call before the first read; a seek keeps the
 * gain. -EINVAL after a read or for a gain beyond +-JC_MAX_BOOST_DB. */
JC_API int jc_decoder_set_gain(jc_decoder *decoder, double gain_db);
/* Moves to a frame position (at jc_decoder_rate()); used to resume playback. */
JC_API int jc_decoder_seek(jc_decoder *decoder, uint64_t frame);
JC_API void jc_decoder_destroy(jc_decoder *decoder);

/* ---- Loudness -------------------------------------------------------------- */

/* Notes are played at one loudness, whatever the level they were recorded
 * at (docs/audio.md says why these figures): the integrated loudness of
 * ITU-R BS.1770-4 / EBU R128, in LUFS, that playback aims at; the highest
 * a sample may reach, in dB of full scale (a 16-bit sample of 32767);
 * how far the limiter may take peaks down to let a note reach the target;
 * and the most a note is ever raised (a note of room noise stays noise). */
#define JC_LOUDNESS_TARGET_LUFS (-18.0)
#define JC_PEAK_CEILING_DBFS    (-1.0)
#define JC_MAX_LIMIT_DB         8.0
#define JC_MAX_BOOST_DB         30.0
/* What a measurement says for silence, or a note shorter than 400 ms. */
#define JC_LOUDNESS_SILENT (-100.0)

struct jc_loudness {
    double integrated_lufs; /* gated, BS.1770-4; JC_LOUDNESS_SILENT if nothing passed the gates */
    double peak_dbfs;       /* highest sample magnitude; JC_LOUDNESS_SILENT if all zero */
};

/* A meter for mono floats (1.0 = full scale) at rate Hz
 * (JC_MIN_INPUT_RATE..JC_DECODE_RATE; -EINVAL otherwise). */
typedef struct jc_loudness_meter jc_loudness_meter;
JC_API int jc_loudness_meter_create(unsigned rate, jc_loudness_meter **out);
JC_API void jc_loudness_meter_add(jc_loudness_meter *meter, const float *mono, size_t frames);
/* The loudness and peak of everything added so far (a final block shorter
 * than 400 ms does not count, as the standard says). -ENOMEM if the meter
 * could not keep up. */
JC_API int jc_loudness_meter_result(const jc_loudness_meter *meter, struct jc_loudness *out);
JC_API void jc_loudness_meter_destroy(jc_loudness_meter *meter);

/* Measures a whole note as playback decodes it (jc_decoder_create()'s
 * errors for a bad note). Costs two decodings of the note (the check
 * jc_decoder_create() makes, then playback's). */
JC_API int jc_note_loudness(const unsigned char *data, size_t len, struct jc_loudness *out);

/* jc_note_check() that measures the loudness in the same decoding, for a
 * note that has just arrived: one decoding instead of three. Returns the
 * check's result; when it is 0, *measured says whether *loudness was
 * filled (false only when the meter could not be made or keep up). What it
 * measures is what jc_note_loudness() says, give or take the few
 * milliseconds of encoder padding the last page trims. */
JC_API int jc_note_check_loudness(const unsigned char *data, size_t len, struct jc_note_info *info,
                                  struct jc_loudness *loudness, bool *measured);

/* The gain, in dB, that brings a note measured as *loudness to
 * target_lufs, within what the limiter may do to its peaks and
 * +-JC_MAX_BOOST_DB (so jc_decoder_set_gain() always takes it); 0 for a
 * note too quiet or short to measure. */
JC_API double jc_loudness_gain_db(const struct jc_loudness *loudness, double target_lufs);

/* Writes 16-bit mono PCM as a WAV file. */
JC_API int jc_wav_write(const char *path, const int16_t *pcm, size_t frames, unsigned rate);

/* The same, in pieces, for output that need not fit in memory: create
 * writes a header, write appends frames, finish fixes the header's sizes,
 * flushes and closes (returning -errno if any of that failed). The file is
 * complete only after finish returned 0; destroy without finish closes the
 * file and leaves it incomplete for the caller to remove. */
typedef struct jc_wav_writer jc_wav_writer;
JC_API int jc_wav_writer_create(const char *path, unsigned rate, jc_wav_writer **out);
JC_API int jc_wav_writer_write(jc_wav_writer *writer, const int16_t *pcm, size_t frames);
JC_API int jc_wav_writer_finish(jc_wav_writer *writer);
JC_API void jc_wav_writer_destroy(jc_wav_writer *writer);

#endif

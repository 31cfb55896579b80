/*
 * The encoder's input stage (private to the codec): resampling to 16 kHz,
 * and when asked, speech clean-up: steady-noise reduction and rumble
 * removal where the input needs them (cleanup.c says how it decides). Output is 16 kHz mono floats,
 * exactly as long as the input (rounded to the nearest 16 kHz frame).
 */
#ifndef JIASHU_CODEC_CLEANUP_H
#define JIASHU_CODEC_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>

#define CLEANUP_RATE 16000

typedef int (*cleanup_emit_fn)(void *user, const float *pcm, size_t frames);

struct cleanup;

/* kind: one of JC_CLEANUP_* (codec.h); JC_CLEANUP_OFF only resamples. */
int cleanup_create(unsigned input_rate, int kind, struct cleanup **out);
/* Cleans frames of input and hands what is ready to emit(user, ...); an
 * error from emit stops the work and is returned. */
int cleanup_process(struct cleanup *c, const float *in, size_t frames, cleanup_emit_fn emit,
                    void *user);
/* Emits the rest, up to the exact length. */
int cleanup_finish(struct cleanup *c, cleanup_emit_fn emit, void *user);
void cleanup_destroy(struct cleanup *c);

#endif

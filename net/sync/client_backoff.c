/*
 * Exponential backoff with full jitter: after a failure the client waits a
 * uniform draw in [0, min(cap, base * 2^n)]. Full jitter keeps a village's
 * phones from all hammering a relay that just came back at the same instant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"

static uint64_t next_random(uint64_t *state)
{
    /* xorshift64*: enough for spreading retries, no secret depends on it. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Set once by the program before any client runs (sync.h). */
static struct jn_net_overrides overrides;

void jn_net_set_overrides(const struct jn_net_overrides *o)
{
    overrides = *o;
}

const struct jn_net_overrides *jn_net_overrides_get(void)
{
    return &overrides;
}

void jn_backoff_init(struct jn_backoff *b, unsigned base_ms, unsigned cap_ms)
{
    b->base_ms = base_ms ? base_ms : 500;
    b->cap_ms = cap_ms ? cap_ms : 180000;
    if (overrides.backoff_base_ms && overrides.backoff_cap_ms >= overrides.backoff_base_ms) {
        b->base_ms = overrides.backoff_base_ms;
        b->cap_ms = overrides.backoff_cap_ms;
    }
    b->attempt = 0;
    if (ju_random_bytes(&b->rng, sizeof(b->rng)) < 0)
        b->rng = (uint64_t)ju_mono_ns() ^ (uint64_t)getpid() << 40;
    if (!b->rng)
        b->rng = 0x9E3779B97F4A7C15ULL;
}

unsigned jn_backoff_next_ms(struct jn_backoff *b, long retry_after_s)
{
    uint64_t ceiling = b->base_ms;
    unsigned i;

    if (retry_after_s >= 0) {
        b->attempt++;
        /* The relay knows its own load better than any guess of ours. */
        return retry_after_s > 3600 ? 3600000u : (unsigned)retry_after_s * 1000u;
    }
    for (i = 0; i < b->attempt && ceiling < b->cap_ms; i++)
        ceiling *= 2;
    if (ceiling > b->cap_ms)
        ceiling = b->cap_ms;
    b->attempt++;
    return (unsigned)(next_random(&b->rng) % (ceiling + 1));
}

void jn_backoff_reset(struct jn_backoff *b)
{
    b->attempt = 0;
}

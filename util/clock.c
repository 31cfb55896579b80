/* The project's clocks and its one sleep (see util.h). */
#include <errno.h>
#include <time.h>

#include "util.h"

static int64_t read_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ju_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

int64_t ju_mono_us(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000;
}

int64_t ju_mono_ms(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t ju_wall_ms(void)
{
    return read_ns(CLOCK_REALTIME) / 1000000;
}

void ju_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

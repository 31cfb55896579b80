/*
 * LD_PRELOAD shim for relay_keepalive.sh: the relay's timer thread (the one
 * thread that waits in pthread_cond_timedwait) is held for
 * JIASHU_TEST_TIMER_CLOCK_DELAY_US microseconds (default 3000) after each
 * of its reads of the monotonic clock, as if the scheduler had taken its
 * core right then, which a loaded machine does now and then. Whatever that
 * thread decides from the time it read is then that much out of date,
 * every time instead of once in a thousand runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef int (*timedwait_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*gettime_fn)(clockid_t, struct timespec *);

static __thread int is_timer;

EXPORT int pthread_cond_timedwait(pthread_cond_t *restrict cond, pthread_mutex_t *restrict mutex,
                                  const struct timespec *restrict abstime)
{
    static timedwait_fn real;
    if (!real) {
        /* The current version on x86-64; the only one elsewhere. */
        real = (timedwait_fn)dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");
        if (!real)
            real = (timedwait_fn)dlsym(RTLD_NEXT, "pthread_cond_timedwait");
    }
    is_timer = 1;
    return real(cond, mutex, abstime);
}

EXPORT int clock_gettime(clockid_t clock, struct timespec *ts)
{
    static gettime_fn real;
    static long delay_us = -1;
    if (!real)
        real = (gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(clock, ts);
    if (is_timer && clock == CLOCK_MONOTONIC) {
        if (delay_us < 0) {
            const char *v = getenv("JIASHU_TEST_TIMER_CLOCK_DELAY_US");
            delay_us = v ? atol(v) : 3000;
        }
        if (delay_us > 0)
            usleep((useconds_t)delay_us);
    }
    return rc;
}

/* Random bytes from the kernel (see util.h). getrandom() needs no file
 * descriptor, so it works in a chroot and when descriptors run out. */
#include <errno.h>
#include <sys/random.h>

#include "util.h"

int ju_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

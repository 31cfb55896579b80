#include "keys.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;
static struct termios saved_termios;
static bool termios_saved;
static bool input_done;
static struct sigaction saved_int, saved_term;

static void on_signal(int sig)
{
    stop_signal = 1;
}

void keys_init(void)
{
    struct sigaction sa = {0};
    struct termios raw;

    stop_signal = 0;
    input_done = false;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved_int);
    sigaction(SIGTERM, &sa, &saved_term);
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        raw = saved_termios;
        /* Keep ISIG: Ctrl-C still raises SIGINT, caught above. */
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        termios_saved = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
}

void keys_finish(void)
{
    if (termios_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    termios_saved = false;
    sigaction(SIGINT, &saved_int, NULL);
    sigaction(SIGTERM, &saved_term, NULL);
}

enum key_event keys_poll(void)
{
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    unsigned char c;

    if (stop_signal)
        return KEY_STOP;
    while (!input_done && poll(&pfd, 1, 0) > 0) {
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            input_done = true;
            break;
        }
        if (c == '\n' || c == '\r' || c == 'q' || c == 'Q')
            return KEY_STOP;
        if (c == ' ')
            return KEY_PAUSE;
    }
    return stop_signal ? KEY_STOP : KEY_NONE;
}

bool keys_interactive(void)
{
    return isatty(STDOUT_FILENO);
}

/*
 * The commands of the jiashu program. Each takes the arguments after its
 * name (argv[0] is the command name) and returns the process exit status:
 * 0 on success, 1 when the work failed (after printing one line to stderr
 * with app_fail()), 2 for a usage error.
 */
#ifndef JIASHU_APP_COMMANDS_H
#define JIASHU_APP_COMMANDS_H

#include <libintl.h>
#include <stdarg.h>
#include <stdint.h>

/* Every message a person reads goes through gettext (domain "jiashu"), in
 * the language the locale chooses; app_fail() and app_usage() translate
 * their format themselves. N_() marks a string for translation where it is
 * only used later. */
#define _(s)  gettext(s)
#define N_(s) (s)

struct app_context {
    const char *home; /* the resolved home directory: --home, JIASHU_HOME or XDG */
    /* Added to the wall clock for the month of the data ledger and quiet
     * hours: JIASHU_NOW (Unix seconds) moves the program's clock there,
     * for tests; 0 otherwise. */
    int64_t clock_offset_ms;
};

typedef int (*app_command_fn)(const struct app_context *ctx, int argc, char **argv);

/* Any error code of the project (codec, store, net, audio), explained in the
 * user's language; never NULL. */
const char *app_strerror(int err);

/* Prints "jiashu: <message>" as one line on stderr and returns 1. */
int app_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "jiashu: <message> (see 'jiashu --help')" as one line; returns 2. */
int app_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cmd_codec.c */
int cmd_encode(const struct app_context *ctx, int argc, char **argv);
int cmd_decode(const struct app_context *ctx, int argc, char **argv);

/* cmd_messages.c */
int cmd_record(const struct app_context *ctx, int argc, char **argv);
int cmd_outbox(const struct app_context *ctx, int argc, char **argv);
int cmd_inbox(const struct app_context *ctx, int argc, char **argv);
int cmd_export(const struct app_context *ctx, int argc, char **argv);
int cmd_play(const struct app_context *ctx, int argc, char **argv);
int cmd_send(const struct app_context *ctx, int argc, char **argv);
int cmd_discard(const struct app_context *ctx, int argc, char **argv);
int cmd_config(const struct app_context *ctx, int argc, char **argv);

/* cmd_data.c */
int cmd_data(const struct app_context *ctx, int argc, char **argv);

/* cmd_family.c */
int cmd_setup(const struct app_context *ctx, int argc, char **argv);
int cmd_family(const struct app_context *ctx, int argc, char **argv);
int cmd_sync(const struct app_context *ctx, int argc, char **argv);

/* station.c */
int cmd_station(const struct app_context *ctx, int argc, char **argv);

#endif

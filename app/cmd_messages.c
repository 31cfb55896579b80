#include "commands.h"

int cmd_record(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("record: not built yet");
}

int cmd_outbox(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("outbox: not built yet");
}

int cmd_inbox(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("inbox: not built yet");
}

int cmd_export(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("export: not built yet");
}

int cmd_play(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("play: not built yet");
}


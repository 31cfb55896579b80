#include "commands.h"

int cmd_setup(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("setup: not built yet");
}

int cmd_family(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("family: not built yet");
}

int cmd_sync(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("sync: not built yet");
}

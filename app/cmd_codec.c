#include "commands.h"

int cmd_encode(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("encode: not built yet");
}

int cmd_decode(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("decode: not built yet");
}

#include "commands.h"

int cmd_station(const struct app_context *ctx, int argc, char **argv)
{
    return app_fail("station: not built yet");
}

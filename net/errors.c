#include "net.h"

const char *jn_strerror(int err)
{
    switch (err) {
    case JN_ERR_PROTOCOL:
        return "the relay answered something this version does not understand";
    case JN_ERR_LISTEN:
        return "cannot listen on that address (in use, or not an address of this machine)";
    case JN_ERR_STORAGE:
        return "the relay database cannot be opened or written";
    case JN_ERR_CONFIG:
        return "a relay setting is out of range";
    }
    return js_strerror(err);
}

#include "net.h"

const char *jn_strerror(int err)
{
    switch (err) {
    case JN_ERR_PROTOCOL: return "the relay answered something this version does not understand";
    }
    return js_strerror(err);
}

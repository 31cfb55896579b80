#include "store.h"

const char *js_strerror(int err)
{
    switch (err) {
    case JS_ERR_NOT_A_DATABASE: return "the message database is damaged or is not a jiashu database";
    case JS_ERR_TOO_NEW: return "the message database was written by a newer version of jiashu";
    }
    return jc_strerror(err);
}

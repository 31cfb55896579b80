#include "store.h"

const char *js_strerror(int err)
{
    switch (err) {
    case JS_ERR_NOT_A_DATABASE:
        return "the message database is damaged or is not a jiashu database";
    case JS_ERR_TOO_NEW:
        return "the message database was written by a newer version of jiashu; update jiashu";
    case JS_ERR_READ_ONLY:
        return "the message store is read-only (check the home directory's disk and permissions)";
    case JS_ERR_DISK_FULL:
        return "the disk is full; free some space and try again";
    case JS_ERR_QUOTA:
        return "the message store is full of messages not yet sent or heard; play or send some "
               "first, or raise quota_bytes";
    case JS_ERR_NOT_FOUND:
        return "no such message";
    case JS_ERR_STATE:
        return "the message is not in a state that allows this";
    case JS_ERR_INVALID:
        return "invalid value";
    case JS_ERR_CHECKSUM:
        return "the downloaded message does not match its checksum";
    case JS_ERR_BUSY:
        return "the message database is busy in another program; try again";
    case JS_ERR_IO:
        return "the disk failed to read or write the message database";
    case JS_ERR_EVICTED:
        return "the message's audio was removed to make room";
    }
    return jc_strerror(err);
}

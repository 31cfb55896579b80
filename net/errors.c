#include "net.h"

const char *jn_strerror(int err)
{
    switch (err) {
    case JN_ERR_PROTOCOL:
        return "the relay answered something this version does not understand";
    case JN_ERR_NETWORK:
        return "the relay could not be reached or the connection broke; try again later";
    case JN_ERR_TLS:
        return "the relay's TLS certificate is not trusted; refusing to talk to it";
    case JN_ERR_TOO_LARGE:
        return "a request or an answer was larger than allowed";
    case JN_ERR_BAD_REQUEST:
        return "the relay refused the request as malformed";
    case JN_ERR_UNAUTHORIZED:
        return "the relay does not know this device; run setup and join again";
    case JN_ERR_FORBIDDEN:
        return "the relay says this is not yours";
    case JN_ERR_NOT_FOUND:
        return "the relay does not have it (wrong code or address?)";
    case JN_ERR_CONFLICT:
        return "the upload was out of step with the relay";
    case JN_ERR_GONE:
        return "it expired on the relay";
    case JN_ERR_RATE_LIMITED:
        return "the relay asks to slow down; try again later";
    case JN_ERR_CHECKSUM:
        return "the data arrived damaged (checksum mismatch)";
    case JN_ERR_SERVER:
        return "the relay failed to answer properly; try again later";
    case JN_ERR_RELAY_FULL:
        return "the relay's storage is full; try again later";
    case JN_ERR_HTTP:
        return "the relay refused the request";
    case JN_ERR_URL:
        return "the relay address must be an http:// or https:// URL";
    case JN_ERR_NOT_SET_UP:
        return "not set up yet: run 'jiashu setup' and 'jiashu family create' or 'join'";
    case JN_ERR_INVALID_AUDIO:
        return "a received message is not a valid voice note";
    case JN_ERR_GAVE_UP:
        return "the network kept failing; everything done so far is kept, sync again later";
    case JN_ERR_LISTEN:
        return "cannot listen on that address (in use, or not an address of this machine)";
    case JN_ERR_STORAGE:
        return "the relay database cannot be opened or written";
    case JN_ERR_CONFIG:
        return "a relay setting is out of range";
    }
    return js_strerror(err);
}

/* The one table of error messages (see util.h). The strings are plain
 * English; packaging/po extracts every one for translation, and programs
 * translate what ju_strerror() returns. The codes are written as numbers so
 * that this file, at the bottom of the stack, includes no part above it;
 * tests/architecture/layers.sh checks each number against its part's header. */
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct error_message {
    int code;
    const char *text;
};

/* One line a code, as tests/architecture checks them: */
/* clang-format off */
static const struct error_message messages[] = {
    {-1001, "not a WAV file this program can read (PCM 8/16/24/32-bit or float, mono or stereo)"}, /* JC_ERR_WAV_FORMAT */
    {-1002, "the WAV sample rate must be between 8000 and 48000 Hz"}, /* JC_ERR_WAV_RATE */
    {-1003, "not an Ogg file"}, /* JC_ERR_NOT_OGG */
    {-1004, "not an Opus voice note (Ogg, but no Opus stream)"}, /* JC_ERR_NOT_OPUS */
    {-1005, "the voice note is truncated"}, /* JC_ERR_TRUNCATED */
    {-1006, "not a mono voice note"}, /* JC_ERR_CHANNELS */
    {-1007, "the voice note's timing is impossible"}, /* JC_ERR_DURATION */
    {-1008, "the voice note is longer than the limit of 10 minutes"}, /* JC_ERR_TOO_LONG */
    {-1009, "the voice note holds no audio"}, /* JC_ERR_EMPTY */
    {-1010, "the voice note is damaged"}, /* JC_ERR_CORRUPT */
    {-1011, "the Opus encoder failed"}, /* JC_ERR_ENCODER */
    {-1012, "the bitrate must be between 6000 and 64000 bit/s"}, /* JC_ERR_BITRATE */
    {-2001, "the message database is damaged or is not a jiashu database"}, /* JS_ERR_NOT_A_DATABASE */
    {-2002, "the message database was written by a newer version of jiashu; update jiashu"}, /* JS_ERR_TOO_NEW */
    {-2003, "the message store is read-only (check the home directory's disk and permissions)"}, /* JS_ERR_READ_ONLY */
    {-2004, "the disk is full; free some space and try again"}, /* JS_ERR_DISK_FULL */
    {-2005, "the message store is full of messages not yet sent or heard; play or send some first, or raise quota_bytes"}, /* JS_ERR_QUOTA */
    {-2006, "no such message"}, /* JS_ERR_NOT_FOUND */
    {-2007, "the message is not in a state that allows this"}, /* JS_ERR_STATE */
    {-2008, "invalid value"}, /* JS_ERR_INVALID */
    {-2009, "the downloaded message does not match its checksum"}, /* JS_ERR_CHECKSUM */
    {-2010, "the message database is busy in another program; try again"}, /* JS_ERR_BUSY */
    {-2011, "the disk failed to read or write the message database"}, /* JS_ERR_IO */
    {-2012, "the message's audio was removed to make room"}, /* JS_ERR_EVICTED */
    {-3002, "cannot listen on that address (in use, or not an address of this machine)"}, /* JN_ERR_LISTEN */
    {-3003, "the relay database cannot be opened or written"}, /* JN_ERR_STORAGE */
    {-3004, "a relay setting is out of range"}, /* JN_ERR_CONFIG */
    {-3005, "the folder of the parents' page is missing, incomplete or too large (build app/web, or leave --web out)"}, /* JN_ERR_WEB */
    {-3101, "the relay could not be reached or the connection broke; try again later"}, /* JN_ERR_NETWORK */
    {-3102, "the relay's TLS certificate is not trusted; refusing to talk to it"}, /* JN_ERR_TLS */
    {-3103, "a request or an answer was larger than allowed"}, /* JN_ERR_TOO_LARGE */
    {-3104, "the relay refused the request as malformed"}, /* JN_ERR_BAD_REQUEST */
    {-3105, "the relay does not know this device; run setup and join again"}, /* JN_ERR_UNAUTHORIZED */
    {-3106, "the relay says this is not yours"}, /* JN_ERR_FORBIDDEN */
    {-3107, "the relay does not have it (wrong code or address?)"}, /* JN_ERR_NOT_FOUND */
    {-3108, "the upload was out of step with the relay"}, /* JN_ERR_CONFLICT */
    {-3109, "it expired on the relay"}, /* JN_ERR_GONE */
    {-3110, "the relay asks to slow down; try again later"}, /* JN_ERR_RATE_LIMITED */
    {-3111, "the data arrived damaged (checksum mismatch)"}, /* JN_ERR_CHECKSUM */
    {-3112, "the relay failed to answer properly; try again later"}, /* JN_ERR_SERVER */
    {-3113, "the relay's storage is full; try again later"}, /* JN_ERR_RELAY_FULL */
    {-3114, "the relay refused the request"}, /* JN_ERR_HTTP */
    {-3115, "the relay address must be an http:// or https:// URL"}, /* JN_ERR_URL */
    {-3116, "not set up yet: run 'jiashu setup' and 'jiashu family create' or 'join'"}, /* JN_ERR_NOT_SET_UP */
    {-3117, "a received message is not a valid voice note"}, /* JN_ERR_INVALID_AUDIO */
    {-3118, "the network kept failing; everything done so far is kept, sync again later"}, /* JN_ERR_GAVE_UP */
    {-3119, "the relay answered something this version does not understand"}, /* JN_ERR_PROTOCOL */
    {-4001, "the sound system could not be started"}, /* AUDIO_ERR_INIT */
    {-4002, "no microphone was found"}, /* AUDIO_ERR_NO_INPUT */
    {-4003, "no speaker was found"}, /* AUDIO_ERR_NO_OUTPUT */
    {-4004, "the sound device refused to open"}, /* AUDIO_ERR_OPEN */
    {-4005, "the sound device stopped working"}, /* AUDIO_ERR_LOST */
    {-5001, "refused: the encrypted message is malformed"}, /* JE_ERR_MALFORMED */
    {-5002, "refused: the sender is not a member of this family"}, /* JE_ERR_NOT_MEMBER */
    {-5003, "refused: the sender's signature does not match (changed on the way)"}, /* JE_ERR_SIGNATURE */
    {-5004, "refused: the message was not encrypted for this device"}, /* JE_ERR_NOT_FOR_US */
    {-5005, "refused: part of the message was changed, dropped or cut on the way"}, /* JE_ERR_CHUNK */
    {-5006, "refused: the message belongs to another family or another message (replayed)"}, /* JE_ERR_REPLAYED */
    {-5007, "pairing failed: the codes do not match, or someone changed the pairing messages; nothing was trusted"}, /* JE_ERR_CODE_MISMATCH */
    {-5008, "refused: an older or unsigned member list"}, /* JE_ERR_ROSTER */
    {-5009, "refused: the message is not encrypted, and this family encrypts every message"}, /* JE_ERR_NOT_ENCRYPTED */
    {-5010, "this family is not encrypted yet: run 'jiashu family upgrade' on one phone"}, /* JE_ERR_NO_KEYS */
    {-5011, "the cryptography library could not start"}, /* JE_ERR_CRYPTO */
    {-5012, "this device was removed from the family"}, /* JE_ERR_REMOVED */
    {-5013, "refused: a receipt whose signature does not match"}, /* JE_ERR_RECEIPT */
    {-5014, "pairing failed: the other phone refused it (the codes did not match); make a new code"}, /* JE_ERR_PAIRING_REFUSED */
    {-5015, "the pairing is still waiting for the other phone"}, /* JE_ERR_PENDING */
};
/* clang-format on */

const char *ju_strerror(int err)
{
    if (err == 0)
        return "success";
    for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
        if (messages[i].code == err)
            return messages[i].text;
    if (err < 0 && err > JU_ERR_CODEC_BASE)
        return strerror(-err);
    return "unknown error";
}

/*
 * jiashu net: relay protocol v1 (net/PROTOCOL.md), both sides: the relay
 * server and the libcurl sync client.
 *
 * Errors follow the codec's convention (codec/codec.h): 0 or a negative
 * code; JN_ERR_* codes are the network's own, jn_strerror() explains any.
 */
#ifndef JIASHU_NET_H
#define JIASHU_NET_H

#include "store/store.h"

#define JN_API __attribute__((visibility("default")))

enum jn_error {
    JN_ERR_PROTOCOL = -3001, /* the relay answered something the protocol does not allow */
};

JN_API const char *jn_strerror(int err);

#endif

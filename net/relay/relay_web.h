/*
 * The parents' page, served by the relay from the folder app/web's build
 * wrote (installed with the relay). The files are read once, at start, into
 * memory: the page is small (tens of KB), every answer is then a memory
 * copy, and no request can name a file outside the build's own list.
 * Internal to net/relay.
 */
#ifndef JIASHU_NET_RELAY_WEB_H
#define JIASHU_NET_RELAY_WEB_H

#include <microhttpd.h>
#include <stdbool.h>

struct relay_web;

/* Loads the files named in DIR/files.txt (and their .gz copies). 0, or
 * -ENOENT (no such folder or list), -EFBIG (more than the page may weigh),
 * -EINVAL (a name that is not a plain relative path), -ENOMEM, -errno. */
int relay_web_load(const char *dir, struct relay_web **out);
void relay_web_free(struct relay_web *web);

/* True when url is one of the page's paths ("/", "/sw.js", "/assets/...");
 * the caller then lets relay_web_answer() answer it. */
bool relay_web_owns(const struct relay_web *web, const char *url);

/* Queues the answer for a GET or HEAD of an owned path (405 for another
 * method): the file, gzip when the browser takes it, the page's
 * Content-Security-Policy and its cache rules, 304 for a matching ETag. */
enum MHD_Result relay_web_answer(const struct relay_web *web, struct MHD_Connection *conn,
                                 const char *method, const char *url);

#endif

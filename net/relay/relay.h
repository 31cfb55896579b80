/*
 * jiashu relay: the server side of protocol v1 (net/PROTOCOL.md), over
 * libmicrohttpd and one SQLite database. It holds mailboxes, uploads and
 * receipts and knows nothing of voice notes, the client's store or the
 * sync client: no file here includes them and jiashu-relay links none.
 *
 * Errors follow util/util.h: 0 or a negative code; JN_ERR_* below are the
 * relay's own, ju_strerror() explains any.
 */
#ifndef JIASHU_NET_RELAY_H
#define JIASHU_NET_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define JN_API __attribute__((visibility("default")))

enum jn_relay_error {
    JN_ERR_LISTEN =
        JU_ERR_RELAY_BASE - 2, /* the relay could not listen on the address it was given */
    JN_ERR_STORAGE =
        JU_ERR_RELAY_BASE - 3,             /* the relay's database could not be opened or written */
    JN_ERR_CONFIG = JU_ERR_RELAY_BASE - 4, /* a relay setting is out of its range */
    JN_ERR_WEB = JU_ERR_RELAY_BASE - 5,    /* the parents' page folder cannot be served */
};

#include <stdint.h>

/*
 * Every limit the relay applies, in one place. jn_relay_config_init() fills
 * the defaults written in net/PROTOCOL.md; a program overrides what it wants
 * before jn_relay_create(). Strings are borrowed for the duration of
 * jn_relay_create() only.
 */
/* One request, for jn_relay_config.log_request. Never a header, a query
 * or a token: the route is its pattern ("/v1/uploads/{id}"), not the path. */
struct jn_relay_request_log {
    const char *method; /* as the client sent it, escaped as log lines are */
    const char *route;
    unsigned status; /* 0: the client left before the answer */
    uint64_t bytes_in, bytes_out;
    double ms;
    int closed;     /* the connection closed before the request ended */
    int bytes_kept; /* ... and the body bytes that had come were kept */
};

struct jn_relay_config {
    const char *host;    /* address to bind, numeric IPv4/IPv6; default "127.0.0.1" */
    uint16_t port;       /* 0: any free port (see jn_relay_port) */
    const char *db_path; /* the SQLite database, created if missing; required */

    uint64_t max_message_bytes; /* Upload-Length ceiling (default JU_MAX_UPLOAD_BYTES) */
    uint64_t max_family_bytes;  /* all messages and uploads of a family (default 256 MiB) */
    /* All families together, counted as announced (Upload-Length), so a
     * new upload gets 507 before the disk holds it; 0: no limit (default 0). */
    uint64_t max_storage_bytes;
    /* Free space the database's file system keeps (SQLite only): a new
     * upload that would leave less gets 507 (default 256 MiB; 0: none). */
    uint64_t min_free_bytes;
    unsigned max_families;           /* families on the relay; 0: no limit (default 10000) */
    unsigned max_mailbox;            /* undelivered messages per device (default 1000) */
    unsigned max_devices;            /* devices per family (default 32) */
    unsigned max_recipients;         /* per message (default 32, at most 64) */
    unsigned max_invites;            /* live invites per family (default 10) */
    size_t max_metadata_bytes;       /* Upload-Metadata header (default 1024, at most 1024) */
    size_t max_json_bytes;           /* JSON request bodies (default 4096) */
    size_t max_header_bytes;         /* all request headers of a connection (default 16 KiB) */
    uint64_t max_buffered_bytes;     /* request bodies held in memory at once (default 64 MiB) */
    uint64_t max_buffered_per_ip;    /* ... of them from one address (default 8 MiB) */
    unsigned max_connections;        /* simultaneous connections (default 10000, and at most
                                        what the open-file limit leaves room for) */
    unsigned max_connections_per_ip; /* from one address; 0: no limit (default 64) */
    unsigned header_timeout_s;       /* a whole header block must arrive within this (default 10) */
    unsigned idle_timeout_s;         /* a connection silent this long is closed (default 30) */
    unsigned max_request_s;          /* a request body must arrive within this (default 120) */
    unsigned min_body_rate;          /* bytes/s a body must average after its first 10 s
                                        (default 256; 0: none) */
    unsigned max_wait_s;             /* longest long poll (default 60) */

    unsigned invite_digits; /* length of invite codes (default 10, 6..18) */
    unsigned invite_ttl_s;  /* invite lifetime (default 86400) */
    unsigned upload_ttl_s;  /* a partial upload expires this long after creation (default 86400) */
    unsigned retention_s;   /* kept after every recipient has it (default 7 days) */
    unsigned max_age_s;     /* kept at most this long in any case (default 30 days) */
    unsigned cleanup_interval_s; /* how often expired things are removed (default 60) */
    /* Rows the cleanup removes in one transaction; requests wait at most
     * for one such batch (default 8). */
    unsigned cleanup_batch;

    double token_rate;    /* requests per second per device token (default 20) */
    unsigned token_burst; /* ... allowed in a burst (default 100) */
    double join_rate;     /* join/create attempts per second per address (default 0.1) */
    unsigned join_burst;  /* ... in a burst (default 5) */
    /* Comma-separated numeric addresses of reverse proxies whose
     * Forwarded / X-Forwarded-For header names the client; from anyone
     * else those headers are ignored (default none, at most 8). */
    const char *trusted_proxies;

    double join_rate_global;      /* join attempts per second, all addresses (default 1) */
    unsigned join_burst_global;   /* ... in a burst (default 30) */
    double create_rate_global;    /* family creations per second, all addresses (default 0.1) */
    unsigned create_burst_global; /* ... in a burst (default 20) */

    /* The parents' page (app/web, built): served at "/" when set. NULL: the
     * relay serves only the API. */
    const char *web_dir;

    int quiet; /* 1: no per-request log lines */
    /* Where the relay's log lines go, one call a line (no newline); NULL:
     * nowhere. The library writes nothing itself; the program decides.
     * Lines are escaped: control bytes, DEL, the backslash and bytes that
     * are not valid UTF-8 come as \xNN, so nothing a client sends can end
     * a line or reach a terminal. */
    void (*log)(void *user, const char *line);
    /* When set, each request's line comes here as fields instead (for
     * structured logs); the other lines still go to log. */
    void (*log_request)(void *user, const struct jn_relay_request_log *entry);
    void *log_user;
};

struct jn_relay;

/*
 * The database (db_path) is a SQLite file, or a PostgreSQL database given as
 * a postgresql:// URI, which several relay processes may share
 * (docs/relay-postgresql.md). jn_relay_create() brings a PostgreSQL schema
 * up to date itself; jn_relay_migrate() does only that (*version: the
 * schema version reached). jn_relay_check() connects and checks that the
 * schema is this program's: 0, -ENOTCONN (unreachable), -EPROTO (another
 * version) or JN_ERR_STORAGE.
 */
JN_API int jn_relay_migrate(const char *db, int *version);
/* Where the relay's log lines go for what runs without a config
 * (jn_relay_migrate, jn_relay_check); jn_relay_create() takes cfg->log. */
JN_API void jn_relay_set_log(void (*log)(void *user, const char *line), void *user);
JN_API int jn_relay_check(const char *db);

/* Fills cfg with the defaults (db_path NULL). */
JN_API void jn_relay_config_init(struct jn_relay_config *cfg);

/*
 * Opens the database, binds the address and starts serving on background
 * threads (one libmicrohttpd epoll thread and one timer thread). On success
 * *out owns everything until jn_relay_destroy(). Errors: JN_ERR_CONFIG,
 * JN_ERR_STORAGE, JN_ERR_LISTEN, -ENOMEM.
 */
JN_API int jn_relay_create(const struct jn_relay_config *cfg, struct jn_relay **out);

/* The TCP port the relay listens on (useful after asking for port 0). */
JN_API uint16_t jn_relay_port(const struct jn_relay *relay);

/*
 * Stops accepting connections, answers the waiting long polls, lets the
 * requests in progress finish (up to a few seconds), then stops. Everything
 * the relay acknowledged is already durable. Safe to call more than once.
 */
JN_API void jn_relay_stop(struct jn_relay *relay);

/* Group commit so far: fdatasync() calls made, and the answers to writing
 * requests they made durable (their ratio is the batch size). */
JN_API void jn_relay_sync_stats(const struct jn_relay *relay, uint64_t *syncs, uint64_t *requests);

/* Stops the relay if needed and frees it; accepts NULL. */
JN_API void jn_relay_destroy(struct jn_relay *relay);

#endif

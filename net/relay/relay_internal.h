/*
 * What the relay's files share: the server state, one request in flight,
 * and the helpers the routes answer with. Internal to net/.
 */
#ifndef JIASHU_NET_RELAY_INTERNAL_H
#define JIASHU_NET_RELAY_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "relay.h"
#include "relay_storage.h"
#include "relay_web.h"

enum relay_route {
    ROUTE_UNKNOWN,
    ROUTE_FAMILIES,
    ROUTE_INVITES,
    ROUTE_JOIN,
    ROUTE_FAMILY,
    ROUTE_DEVICE,
    ROUTE_UPLOADS,
    ROUTE_UPLOAD,
    ROUTE_INBOX,
    ROUTE_MESSAGE,
    ROUTE_RECEIPT_POST,
    ROUTE_RECEIPTS,
    ROUTE_PAIRINGS,       /* POST /v1/pairings */
    ROUTE_PAIRING,        /* GET, PUT /v1/pairings/{nameplate} */
    ROUTE_PAIRING_CLAIM,  /* POST /v1/pairings/{nameplate}/claim */
    ROUTE_PAIRING_ANSWER, /* POST /v1/pairings/{nameplate}/answer */
    ROUTE_PAIRING_RESULT, /* POST /v1/pairings/{nameplate}/result */
    ROUTE_ROSTER,         /* GET, PUT /v1/roster */
    ROUTE_COUNT_
};

/* Bits: a long poll may wait for both (the inbox with receipts_after). */
enum relay_wait_kind { WAIT_INBOX = 1, WAIT_RECEIPTS = 2 };

/* A token bucket per key, keys hashed into a fixed table: two keys that
 * share a slot share a bucket, which only ever makes the limit stricter. */
struct relay_bucket {
    double tokens;
    uint64_t last_ms;
};

struct relay_limiter {
    struct relay_bucket *slots;
    unsigned n_slots;
    double rate;
    double burst;
    /* With a storage that keeps buckets for every process (PostgreSQL), the
     * buckets live there; the local ones serve while it cannot be reached. */
    struct relay_storage *shared;
    unsigned id;
};

struct relay_request;

/* One TCP connection, from libmicrohttpd's connection notifications until
 * it closes: the timer thread closes those whose header block is late. */
struct relay_conn {
    int fd;
    uint64_t since_ms; /* when its current header block began */
    int in_request;    /* headers complete, request not yet finished */
    unsigned slot;     /* its address's slot in the per-address tables */
    int proxy;         /* from a trusted proxy: no per-address connection limit */
    struct relay_conn *prev, *next;
};

#define RELAY_ADDR_SLOTS  16384u
#define RELAY_MAX_PROXIES 8

struct relay_addr {
    int family;
    uint8_t bytes[16];
};

struct jn_relay {
    struct jn_relay_config cfg;
    struct relay_web *web;            /* the parents' page, or NULL */
    struct relay_storage *st;         /* used by the MHD thread only */
    struct relay_storage *cleanup_st; /* used by the timer thread only */
    struct relay_storage *sync_st;    /* used by the sync thread only */
    struct relay_storage *listen_st;  /* cross-process wake-ups (PostgreSQL only) */
    pthread_t listener;
    int listener_started;
    int listen_stop[2]; /* a pipe: written to stop the listener */
    struct MHD_Daemon *mhd;
    uint16_t port;
    uint64_t seed;

    /* Rate limits and the body budget, touched by the MHD thread only. */
    struct relay_limiter token_limit;
    struct relay_limiter join_limit;
    struct relay_limiter join_global;
    struct relay_limiter create_limit;
    struct relay_limiter create_global;
    uint64_t buffered;
    int storage_full_logged; /* the operator was told the relay is full */
    char db_dir[4096];       /* the SQLite file's directory, for its free space; "" on PostgreSQL */
    uint64_t *buffered_per_slot; /* body bytes held per address slot */
    unsigned *conns_per_slot;    /* connections per address slot */
    unsigned connection_limit;   /* max_connections, clamped to the open-file limit */
    struct relay_addr proxies[RELAY_MAX_PROXIES];
    unsigned n_proxies;

    /* Open connections, for the header deadline (conn_lock: the MHD and
     * timer threads). */
    pthread_mutex_t conn_lock;
    struct relay_conn *conns;
    unsigned n_conns;

    /* Long polls waiting, and the timer thread that ends them. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t timer;
    int timer_started;
    int stopping;
    int stopped;
    struct relay_request *waiters;
    unsigned n_waiters;

    /* Upload bodies being received, and requests asking where an upload
     * stands that wait for them to end (MHD thread only). */
    struct relay_request *receivers;
    struct relay_request *upload_waiters;

    /* Group commit: requests whose writes wait for one make_durable(). */
    pthread_t syncer;
    int syncer_started;
    int sync_stop;
    pthread_cond_t sync_cond;
    struct relay_request *sync_pending;
    uint64_t syncs, synced_requests; /* under lock */
};

struct relay_request {
    struct jn_relay *relay;
    struct MHD_Connection *conn;
    uint64_t t0_us;
    char method[12];
    enum relay_route route;
    char arg[72]; /* the id in the path, when the route has one */
    int responded;
    int close_after; /* the answer closes the connection */
    int tus_options; /* an OPTIONS, answered once the request is read */
    unsigned status;
    uint64_t bytes_in, bytes_out;

    struct relay_device dev; /* the caller, once authenticated */
    int authed;

    char *body;
    size_t body_len, body_cap, body_limit;
    uint64_t reserved;   /* bytes of relay->buffered held for this body */
    uint64_t client_key; /* the client's address (behind a trusted proxy, the one it names) */
    unsigned client_slot;
    struct relay_conn *tcp;
    uint64_t body_t0_ms; /* when the first call for this request came */
    int body_too_large;
    int body_over_budget;

    /* Route state kept between the first call and the body's end. */
    struct relay_upload *upload;
    uint64_t patch_offset;
    int deferred_create; /* creation-with-upload: made with its bytes at the end */
    int has_checksum;
    int checksum_algo;
    uint8_t checksum[32];
    size_t checksum_len;

    /* Group commit: a route that wrote sets needs_sync; its answer is held
     * until the write is durable, then the waiting devices are woken. */
    int needs_sync, synced, sync_err;
    struct MHD_Response *held_resp;
    unsigned held_status;
    struct relay_request *snext;
    int wake_recipients;                /* a message landed: wake r->upload's recipients */
    char wake_sender[RELAY_ID_LEN + 1]; /* a receipt landed: wake this sender */

    /* Receiving an upload's bytes (relay->receivers), or waiting for
     * such a request on the same message to end (relay->upload_waiters). */
    int receiving, upload_waiting;
    struct relay_request *rv_prev, *rv_next;

    /* Long poll. */
    unsigned wait_kind; /* enum relay_wait_kind bits */
    int waiting, woken;
    uint64_t deadline_ms;
    struct relay_request *wprev, *wnext;
};

/* relay_server.c */
int relay_limit_take(struct relay_limiter *l, uint64_t key, unsigned *retry_after);
uint64_t relay_key(const struct jn_relay *relay, const void *data, size_t len);
/* Suspends r until a wake for its device and kind, or its deadline; 0, or
 * -ECANCELED when the relay is stopping (answer at once then). */
int relay_wait(struct relay_request *r, unsigned kinds, unsigned seconds);
void relay_wake(struct jn_relay *relay, const char *device_id, enum relay_wait_kind kind);
/* Answers a storage failure: 503 with Retry-After when the database cannot
 * be reached (it may come back), 500 otherwise. */
void relay_storage_failed(struct relay_request *r, int err);
/* Answers what a storage call returned when it is an error: the one a
 * route expects (expected: -ENOENT for a thing that is not there, -EEXIST
 * for a step taken already) with status, code and message, any other as
 * relay_storage_failed(). -1 when it answered, 0 when err is not an error. */
int relay_storage_answer(struct relay_request *r, int err, int expected, unsigned status,
                         const char *code, const char *message);

/* Uploads: a request receiving bytes of a message is a receiver until its
 * body ended (whole or cut). A request asking where that message's upload
 * stands waits for its receivers first: a client killed mid-upload leaves
 * its kernel sending the rest, and the new process would otherwise be told
 * an old offset and send those bytes again beside them. */
void relay_receiving_start(struct relay_request *r);
void relay_receiving_end(struct relay_request *r);
/* 1 (r suspended until a receiver ends; answer then) when another request
 * is receiving bytes of message_id, else 0. */
int relay_upload_wait(struct relay_request *r, const char *message_id);

/* Answers: each queues one response and records status and size. When
 * the request wrote (needs_sync), the answer waits for durability. */
void relay_respond(struct relay_request *r, unsigned status, struct MHD_Response *resp);
void relay_error(struct relay_request *r, unsigned status, const char *code, const char *message);
void relay_error_retry(struct relay_request *r, unsigned status, const char *code,
                       const char *message, unsigned retry_after);
/* Every error answer comes from here: its JSON body, Retry-After when
 * retry_after is not 0, and one more header when extra_name is not NULL. */
void relay_error_full(struct relay_request *r, unsigned status, const char *code,
                      const char *message, unsigned retry_after, const char *extra_name,
                      const char *extra_value);
struct json_t;
void relay_json(struct relay_request *r, unsigned status, struct json_t *body); /* steals body */
/* Answers with JSON text already written; takes text (malloc'd). */
void relay_json_text(struct relay_request *r, unsigned status, char *text, size_t len);

/* relay_routes.c */
/* The first call for a request, after the route is known: checks the
 * headers, authenticates, may answer at once; sets r->body_limit. */
void relay_route_begin(struct relay_request *r);
/* The body has arrived (or there was none): does the work and answers. */
void relay_route_finish(struct relay_request *r);
const char *relay_route_name(enum relay_route route);

/* One row of the relay's route table (relay_routes.c). */
struct relay_route_def {
    enum relay_route route;
    const char *prefix;  /* the whole path, or what comes before the id */
    const char *suffix;  /* NULL: no id; else what follows the id ("" for nothing) */
    const char *name;    /* for the log: the path with {id} */
    const char *methods; /* the methods it takes, as an Allow header lists them */
    void (*begin)(struct relay_request *r);
    void (*finish)(struct relay_request *r);
};
const struct relay_route_def *relay_routes(size_t *count);
/* Shared with relay_routes_e2e.c: 0, or -1 after answering 401/429/500. */
int relay_authenticate(struct relay_request *r);
uint64_t relay_peer_key(struct relay_request *r);
void relay_sha256(const void *data, size_t len, uint8_t out[32]);

/* relay_routes_e2e.c: the pairing mailboxes and the roster (opaque to the
 * relay; docs/encryption.md). */
void relay_e2e_begin(struct relay_request *r);
/* The family's roster ETag (hex, as GET /v1/roster gives it without the
 * quotes): 1, 0 when the family has none (or the storage keeps none), or
 * a negative storage error. */
int relay_roster_etag(struct relay_request *r, char hex[65]);
void relay_e2e_finish(struct relay_request *r);
/* The connection ended before the answer: keeps what arrived of an upload's
 * bytes (made durable before returning); 1 when something was kept. */
int relay_route_abandoned(struct relay_request *r);

/* What every route asks of its request. */
static inline const char *relay_header(struct relay_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static inline const char *relay_query(struct relay_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static inline struct relay_storage *relay_st(struct relay_request *r)
{
    return r->relay->st;
}

static inline int relay_method_is(struct relay_request *r, const char *method)
{
    return strcmp(r->method, method) == 0;
}

#endif

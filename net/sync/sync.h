/*
 * jiashu sync: the client side of protocol v1 (net/PROTOCOL.md) over
 * libcurl, on the client's store: one HTTP connection reused for every
 * request, a tus 1.0.0 upload client, resumable verified downloads, family
 * membership, and the sync engine that moves the store's outbox and inbox.
 * It knows nothing of the relay's code, only its protocol.
 *
 * Errors follow util/util.h: 0 or a negative code; JN_ERR_* below are the
 * client's own, ju_strerror() explains any.
 */
#ifndef JIASHU_NET_SYNC_H
#define JIASHU_NET_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/util.h"

#define JN_API __attribute__((visibility("default")))

enum jn_client_error {
    JN_ERR_PROTOCOL = -3119,      /* the relay answered something the protocol does not allow */
    JN_ERR_NETWORK = -3101,       /* no answer: connection refused, cut, timed out (retry later) */
    JN_ERR_TLS = -3102,           /* the relay's certificate is not trusted (never retried) */
    JN_ERR_TOO_LARGE = -3103,     /* an answer or a request bigger than its limit */
    JN_ERR_BAD_REQUEST = -3104,   /* 400: the relay refused a malformed request */
    JN_ERR_UNAUTHORIZED = -3105,  /* 401: no token, or one the relay does not know */
    JN_ERR_FORBIDDEN = -3106,     /* 403: not this device's to see */
    JN_ERR_NOT_FOUND = -3107,     /* 404 */
    JN_ERR_CONFLICT = -3108,      /* 409: upload offset out of step (re-sync, then retry) */
    JN_ERR_GONE = -3109,          /* 410: expired on the relay */
    JN_ERR_RATE_LIMITED = -3110,  /* 429: too many requests (retry after the delay given) */
    JN_ERR_CHECKSUM = -3111,      /* 460, or a download whose SHA-256 is not its ETag */
    JN_ERR_SERVER = -3112,        /* 5xx: the relay failed (retry later) */
    JN_ERR_RELAY_FULL = -3113,    /* 507: the relay's storage is full (retry later) */
    JN_ERR_HTTP = -3114,          /* another 4xx that a retry cannot fix */
    JN_ERR_URL = -3115,           /* the relay address is not a usable http(s) URL */
    JN_ERR_NOT_SET_UP = -3116,    /* no relay or no device token yet: run setup / family */
    JN_ERR_INVALID_AUDIO = -3117, /* a downloaded note failed the codec's validation */
    JN_ERR_GAVE_UP = -3118,       /* still failing after every retry allowed */
};

/* True for the errors a later attempt may fix: network failures, 408, 409,
 * 429, 460 and 5xx. A TLS failure or any other 4xx is final. */
JN_API bool jn_error_is_transient(int err);

/* Maps an HTTP status to 0 (1xx-3xx... only 2xx) or a JN_ERR_* code. */
JN_API int jn_http_status_error(long status);

/* ---- Backoff ------------------------------------------------------------- */

/* Exponential backoff with full jitter: the n-th wait is uniform in
 * [0, min(cap, base * 2^n)]. A Retry-After from the relay overrides the
 * draw (and may exceed the cap, capped at an hour). */
struct jn_backoff {
    unsigned base_ms;
    unsigned cap_ms;
    unsigned attempt;
    uint64_t rng;
};

/* base_ms/cap_ms 0 mean 500 ms / 180 s; JIASHU_BACKOFF_MS="BASE,CAP" in the
 * environment overrides both (tests). */
JN_API void jn_backoff_init(struct jn_backoff *b, unsigned base_ms, unsigned cap_ms);
/* The next wait in milliseconds; retry_after_s >= 0 is the relay's word. */
JN_API unsigned jn_backoff_next_ms(struct jn_backoff *b, long retry_after_s);
JN_API void jn_backoff_reset(struct jn_backoff *b);

/* ---- HTTP over one reused connection -------------------------------------- */

typedef struct jn_http jn_http;

struct jn_http_config {
    const char *base_url;   /* "http://host:port" or "https://...", copied */
    const char *token;      /* device token for "Authorization: Bearer", or NULL; copied */
    const char *ca_file;    /* CA bundle; NULL: the override's, else libcurl's default */
    long connect_timeout_s; /* 0: 30 s (a 2G handshake can take seconds) */
    /* A link slower than low_speed_bytes per second for low_speed_time_s is
     * treated as dead. 0: 1 byte/s for 45 s, so a slow link never trips it. */
    long low_speed_bytes;
    long low_speed_time_s;
    /* jn_net_set_overrides() may override the three (tests). */
};

/* What the program sets once, before it makes any client, from what only a
 * program reads (the environment, for tests and debugging): this library
 * reads none. A zero field changes nothing. */
struct jn_net_overrides {
    const char *ca_file;    /* CA bundle for clients whose config names none; not copied */
    long connect_timeout_s; /* these three, when all set, replace every config's */
    long low_speed_bytes;
    long low_speed_time_s;
    unsigned backoff_base_ms; /* these two, when both set, replace every backoff's */
    unsigned backoff_cap_ms;
    bool trace_http; /* libcurl's exchanges on stderr, for debugging by hand */
};
JN_API void jn_net_set_overrides(const struct jn_net_overrides *overrides);

/* Returns 0 or a negative code (-ENOMEM, JN_ERR_URL). */
JN_API int jn_http_create(const struct jn_http_config *config, jn_http **out);
JN_API void jn_http_destroy(jn_http *http);
/* Replaces the bearer token (after joining a family). */
JN_API int jn_http_set_token(jn_http *http, const char *token);
/* From now on no request runs past this monotonic time (ju_mono_ms()); a
 * request begun after it fails with JN_ERR_GAVE_UP at once. 0: none. */
JN_API void jn_http_set_deadline(jn_http *http, int64_t mono_ms);
/* Sleeps ms, or until the deadline if that comes first (the retry loops'
 * backoff, so a late retry never outlives the sync). */
JN_API void jn_http_sleep_ms(jn_http *http, unsigned ms);

/* Receives response body bytes; return 0, or a negative code to abort. */
typedef int (*jn_sink_fn)(void *user, const unsigned char *bytes, size_t len);
/* Upload progress of the request body: bytes sent so far of total. */
typedef void (*jn_progress_fn)(void *user, uint64_t sent, uint64_t total);

struct jn_http_request {
    const char *method;         /* GET, HEAD, POST, PATCH, DELETE */
    const char *path;           /* appended to base_url, or an absolute http(s) URL */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const unsigned char *body;  /* request body (borrowed), may be NULL */
    size_t body_len;
    const char *content_type; /* NULL: none */
    /* The response body goes to sink if set, else into memory, at most
     * max_body bytes (0: 64 KiB); a longer one fails with JN_ERR_TOO_LARGE.
     * When the sink is called, the response passed to jn_http_request()
     * already holds the status and the headers. */
    jn_sink_fn sink;
    void *sink_user;
    size_t max_body;
    jn_progress_fn progress;
    void *progress_user;
    /* A long poll: the relay may stay silent this many seconds. The low-speed
     * check is off and one overall timeout of long_poll_s + connect timeout +
     * 30 s applies, so an idle wait costs no periodic wake-up. */
    long long_poll_s;
};

struct jn_http_response {
    long status; /* 0 if no answer */
    char *body;  /* NUL-terminated in-memory body (owned), or NULL */
    size_t body_len;
    long retry_after_s;     /* -1 if absent */
    int64_t upload_offset;  /* tus Upload-Offset, -1 if absent */
    int64_t upload_length;  /* tus Upload-Length, -1 if absent */
    int64_t range_start;    /* Content-Range start, -1 if absent */
    int64_t range_total;    /* Content-Range total, -1 if absent or "*" */
    int64_t content_length; /* -1 if absent */
    int64_t tus_max_size;   /* tus Tus-Max-Size, -1 if absent */
    char location[512];     /* Location, "" if absent */
    char etag[80];          /* ETag without quotes, "" if absent */
    char tus_resumable[16];
    /* What crossed the connection for this request, counting the repeats
     * libcurl makes by itself on a fresh connection when a reused one died. */
    uint64_t bytes_sent;     /* request headers and body */
    uint64_t body_sent;      /* request body only */
    uint64_t bytes_received; /* response headers and body */
    unsigned connects;       /* new connections this request opened */
};

/* One request, one attempt, no retry. Returns 0 when the relay answered
 * (any status: look at response->status), or a negative code: JN_ERR_NETWORK
 * when no whole answer came, JN_ERR_TLS, JN_ERR_TOO_LARGE, -ENOMEM, or the
 * sink's own code. The response is always initialised; release it with
 * jn_http_response_finish(). A relay error body is not an error here. */
JN_API int jn_http_request(jn_http *http, const struct jn_http_request *request,
                           struct jn_http_response *response);
JN_API void jn_http_response_finish(struct jn_http_response *response);
/* The last transport failure, one line (libcurl's words), "" if none. */
JN_API const char *jn_http_last_error(const jn_http *http);
/* A long poll (long_poll_s > 0) waits on fd too (-1: none): when fd
 * becomes readable first, the request is abandoned (its connection closed)
 * and jn_http_request() returns -EINTR. The caller drains fd. */
JN_API void jn_http_set_wake_fd(jn_http *http, int fd);
/* Bytes sent and received on the wire (HTTP headers and bodies) since created. */
JN_API void jn_http_counters(const jn_http *http, uint64_t *sent, uint64_t *received);
/* Connections opened since created: each one after the first means the
 * previous one was lost (cut, closed by the relay, failed). */
JN_API unsigned jn_http_connections(const jn_http *http);
/* Called after every request with what it cost on the connection (the
 * response's bytes_sent and bytes_received, headers and libcurl's own
 * repeats included), once the exchange ended, well or not: the sync
 * engine books it to a message or to the device (docs/sync.md, "Data").
 * NULL stops it. */
typedef void (*jn_traffic_fn)(void *user, uint64_t sent, uint64_t received);
JN_API void jn_http_set_traffic_fn(jn_http *http, jn_traffic_fn fn, void *user);

/* ---- tus 1.0.0 upload client ------------------------------------------- */

struct jn_tus_upload {
    const char *create_path;   /* creation endpoint, e.g. "/v1/uploads" */
    const char *metadata;      /* Upload-Metadata value (already encoded), or NULL */
    const unsigned char *data; /* the whole file (borrowed) */
    size_t len;
    /* The upload's URL from an earlier attempt (resume), or "" to create one.
     * Updated in place; the caller should persist it via on_location. */
    char url[512];
    /* Called once the relay has created the upload, so the URL survives a
     * crash; return 0 or a negative code to stop. */
    int (*on_location)(void *user, const char *url);
    /* Called after every chunk the relay has acknowledged. */
    int (*on_offset)(void *user, uint64_t offset);
    jn_progress_fn progress; /* whole-file progress, bytes of len */
    void *user;
    size_t chunk_size; /* 0: the rest of the file in one PATCH */
    /* Send Upload-Checksum (sha256) with every PATCH. Off by default: the
     * server must then drop a cut request's bytes, which costs them twice;
     * put the whole message's SHA-256 in the metadata instead. */
    bool per_request_checksum;
    /* An earlier run may have created the upload (and sent bytes that the
     * relay took after that run died): the creation then carries no data
     * and only asks where the upload stands. */
    bool upload_may_exist;
    unsigned max_attempts; /* consecutive failed attempts before giving up; 0: 8 */
    /* Statistics, filled in. */
    uint64_t bytes_resent;  /* body bytes sent more than once */
    unsigned interruptions; /* attempts that failed and were resumed */
    unsigned connections;   /* connections opened (a cut costs one) */
    size_t largest_chunk;
    int64_t max_size;   /* the Tus-Max-Size a creation answer carried, else -1 */
    long retry_after_s; /* internal: the last Retry-After seen */
};

/* Uploads data to the end: creates the upload if url is "" (a relay whose
 * creation is idempotent, like ours, answers a repeat with the same upload
 * and its Upload-Offset, which is where this resumes), else asks (HEAD)
 * where to resume; then PATCHes the rest (or chunks of chunk_size), each
 * at the offset the relay confirmed. A 460 on the last bytes (the whole
 * message did not match its declared sha256: our relay deletes the upload)
 * leads to a HEAD, a 404, and the upload made again from its start. After any failure it
 * backs off, asks the offset again and resumes there. A 404/410 on a
 * remembered URL starts a new upload. Returns 0 when the relay holds every
 * byte, or the last error (JN_ERR_GAVE_UP wraps transient ones). */
JN_API int jn_tus_upload_run(jn_http *http, struct jn_tus_upload *upload);

/* The largest upload the relay takes (its Tus-Max-Size, asked with OPTIONS
 * on path, such as "/v1/uploads"): 0 with *bytes set, 0 with *bytes = 0
 * when the relay states no limit, or an error after one attempt. */
JN_API int jn_tus_max_size(jn_http *http, const char *path, uint64_t *bytes);

/* Asks the relay its upload limit and keeps it in the store
 * (JS_SETTING_RELAY_MAX_UPLOAD), where `record` finds it; 0 or an error,
 * the setting then left as it was. */
JN_API int jn_learn_relay_limit(jn_http *http, js_store *store);

/* ---- verified resumable download ---------------------------------------- */

struct jn_download {
    const char *path; /* e.g. "/v1/messages/ID" */
    uint64_t max_len; /* largest body accepted */
    /* Bytes already held from an earlier attempt: the request resumes with
     * Range at offset; the sink receives what follows. */
    uint64_t offset;
    /* Receives body bytes at 'at' (== bytes held so far). */
    int (*write)(void *user, uint64_t at, const unsigned char *bytes, size_t len);
    /* Throws away everything held (the check failed): start again at 0. */
    int (*truncate)(void *user);
    /* Reads back what is held, to check its SHA-256: return the bytes (borrowed). */
    int (*read_all)(void *user, const unsigned char **bytes, size_t *len);
    jn_progress_fn progress;
    void *user;
    unsigned max_attempts; /* 0: 8 */
    /* Filled in. */
    uint64_t total;           /* the whole length */
    char sha256[65];          /* hex, from the ETag, verified */
    unsigned corrupt_fetches; /* bodies rejected for a wrong SHA-256 */
    unsigned interruptions;
};

/* Fetches the rest of a body with Range, then checks the SHA-256 of the
 * whole against the ETag. A mismatch truncates and fetches again (at most
 * max_attempts times); the caller marks nothing ready unless this returns 0. */
JN_API int jn_download_run(jn_http *http, struct jn_download *download);

/* ---- family membership ---------------------------------------------------- */

struct jn_family_identity {
    char family_id[65];
    char device_id[65];
    char token[129]; /* the device token: the caller keeps it secret */
    char invite[32]; /* digits; only from jn_family_create() */
};

/* POST /v1/families: a new family whose first device is this one, named
 * name. Not retried (a lost answer must not make two families). Errors:
 * the JN_ERR_* of the exchange, JN_ERR_PROTOCOL for a malformed answer. */
JN_API int jn_family_create(jn_http *http, const char *name, struct jn_family_identity *out);
/* POST /v1/join with an invite code: this device joins as name. */
JN_API int jn_family_join(jn_http *http, const char *code, const char *name,
                          struct jn_family_identity *out);
/* POST /v1/invites: a new single-use code (digits) into code. */
JN_API int jn_family_invite(jn_http *http, char *code, size_t size);

typedef int (*jn_member_fn)(void *user, const char *device_id, const char *name);
/* GET /v1/family: calls fn for each member; returns the count. */
JN_API int jn_family_members(jn_http *http, jn_member_fn fn, void *user);

/* ---- end-to-end encryption against the relay (docs/encryption.md) ------------ */

/* Makes this device's keys (unless it has them) and the family's first
 * roster (this device alone), and puts it on the relay. After
 * jn_family_create(), or to upgrade a family made before encryption. */
JN_API int jn_e2e_found_family(jn_http *http, js_store *store);
/* A new 10-digit pairing code (into code, 11 bytes): message A goes to the
 * relay under the code's first four digits; the rest never leaves. The
 * pairing is finished by jn_e2e_pairings_step() (a sync) once the other
 * phone answered. JE_ERR_NO_KEYS for a family that does not encrypt yet. */
JN_API int jn_e2e_invite(jn_http *http, js_store *store, char *code);
typedef void (*jn_e2e_report_fn)(void *user, const char *nameplate, const char *name, int err);
/* Inviter: finishes every pairing whose answer arrived (the new device
 * joined, the roster signed and shared, message C sent), or refuses it
 * (report with JE_ERR_CODE_MISMATCH). */
JN_API int jn_e2e_pairings_step(jn_http *http, js_store *store, jn_e2e_report_fn report,
                                void *user);
/* Joiner: claims the pairing of code and answers it; http needs no token.
 * Then jn_e2e_join_finish() (any later sync) completes it. */
JN_API int jn_e2e_join(jn_http *http, js_store *store, const char *code, const char *name);
JN_API bool jn_e2e_join_pending(js_store *store);
/* 0 when done (or nothing pending): the device has its token, family and
 * roster; JE_ERR_PENDING while the inviter has not answered; JE_ERR_CODE_MISMATCH
 * or JE_ERR_PAIRING_REFUSED (nothing kept), JN_ERR_GONE (expired). */
JN_API int jn_e2e_join_finish(jn_http *http, js_store *store);
/* Fetches the family's roster from the relay and keeps it if a member
 * signed a newer one: 1 kept, 0 nothing new, or an error. */
JN_API int jn_e2e_roster_refresh(jn_http *http, js_store *store);
/* Signs a roster without the member named (or with that device id) and
 * puts it on the relay, then asks the relay to revoke the device
 * (*relay_revoked says whether it did: only the family's keeper may). */
JN_API int jn_e2e_remove(jn_http *http, js_store *store, const char *who, char *removed_name,
                         size_t name_size, bool *relay_revoked);

/* ---- the sync engine ------------------------------------------------------- */

typedef struct jn_sync jn_sync;

enum jn_sync_event_kind {
    JN_SYNC_UPLOAD_START,
    JN_SYNC_UPLOAD_PROGRESS,
    JN_SYNC_UPLOAD_DONE, /* the relay holds the whole message: outbox state sent */
    JN_SYNC_DOWNLOAD_START,
    JN_SYNC_DOWNLOAD_PROGRESS,
    JN_SYNC_DOWNLOAD_DONE, /* verified and validated: inbox state ready */
    JN_SYNC_REJECTED,      /* a download failed its check; dropped, fetched again */
    JN_SYNC_RECEIPT_SENT,  /* state is "delivered" or "played" */
    JN_SYNC_RECEIPT_RECEIVED,
    JN_SYNC_FAILED,          /* one message could not be sent or fetched now (err) */
    JN_SYNC_RETRY,           /* a pass failed on a transient error (err); waiting done ms */
    JN_SYNC_WAITING,         /* watch: waiting on the relay for news */
    JN_SYNC_PAIRED,          /* a device joined with this device's code (state: its name) */
    JN_SYNC_PAIRING_FAILED,  /* a pairing was refused: the codes did not match (err) */
    JN_SYNC_REFUSED,         /* a received note failed its end-to-end checks: never played (err) */
    JN_SYNC_RECEIPT_REFUSED, /* a receipt whose signature does not verify: ignored */
    /* Once per pass that left large notes behind: done is how many, total
     * their bytes, state why: "data budget" or "quiet hours". */
    JN_SYNC_POSTPONED,
};

struct jn_sync_event {
    enum jn_sync_event_kind kind;
    const char *message_id; /* or NULL */
    const char *state;      /* receipts: "delivered" or "played"; else NULL */
    uint64_t done;          /* bytes so far */
    uint64_t total;         /* bytes in all */
    int err;
    /* sent, received: the cuts this transfer survived in this sync (each
     * resumed where it stopped) */
    unsigned interruptions;
    /* JN_SYNC_DOWNLOAD_DONE during quiet hours: a program that announces
     * new notes with a sound keeps quiet (docs/sync.md). */
    bool quiet;
};

typedef void (*jn_sync_event_fn)(void *user, const struct jn_sync_event *event);

struct jn_sync_config {
    js_store *store;           /* borrowed; used by the sync only while it runs */
    long connect_timeout_s;    /* 0: jn_http's default (30 s) */
    jn_sync_event_fn on_event; /* may be NULL */
    void *user;
    /* jn_sync_run() gives up (JN_ERR_GAVE_UP) after this many seconds in
     * all, however the relay behaves; 0: no deadline. jn_sync_watch() has
     * none: it keeps backing off. */
    unsigned deadline_s;
    /* Added to the wall clock wherever the sync asks the time of day or
     * the month (quiet hours, the data ledger): a test's controllable
     * clock, which the program reads from its environment; 0 in use. */
    int64_t clock_offset_ms;
};

/* Settings the sync reads from the store at every pass (docs/sync.md):
 * JS_SETTING_DATA_BUDGET, a monthly budget in megabytes (10^6 bytes;
 * absent: none; 0: no large download at all), and JS_SETTING_QUIET_HOURS
 * in local time (absent: none). Past the budget, and during quiet hours,
 * downloads of notes longer than JN_SMALL_NOTE_BYTES wait; uploads,
 * receipts and small notes go on. */
#define JN_SMALL_NOTE_BYTES (16 * 1024) /* about 8 s at 16 kbit/s */

/* Whether minute_of_day lies in [start, end), across midnight if end < start. */
JN_API bool jn_quiet_hours_contain(int start_min, int end_min, int minute_of_day);

struct jn_sync_stats {
    unsigned uploaded;
    unsigned downloaded;
    unsigned rejected;
    unsigned receipts_sent;
    unsigned receipts_received;
    unsigned failed;
    uint64_t bytes_sent; /* on the connection, headers included */
    uint64_t bytes_received;
    uint64_t bytes_resent;  /* upload bytes sent more than once */
    unsigned interruptions; /* transfers that failed and were resumed */
    uint64_t largest_chunk; /* the largest upload chunk used */
    unsigned connections;   /* connections opened */
};

/* Reads the relay URL and the device token from the store's settings (the
 * CA bundle from the "ca_file" setting if set). JN_ERR_NOT_SET_UP without
 * them. */
JN_API int jn_sync_create(const struct jn_sync_config *config, jn_sync **out);
JN_API void jn_sync_destroy(jn_sync *sync);

/* One pass: uploads every ready outbox message (tus, resumed at the relay's
 * offset), sends pending receipts, lists the inbox after the saved cursor,
 * downloads what is new (Range resume, SHA-256 against the ETag, the
 * store's own checks), then fetches the receipts of this device's messages.
 * Every step is recorded in the store as it lands, so a pass cut at any
 * point (SIGKILL included) is resumed by the next without loss or repeat.
 * Returns 0 if everything that could move moved (a message refused for
 * good is reported as JN_SYNC_FAILED and counted, not returned), or the
 * first error that stopped the pass. Adds to *stats if not NULL. */
JN_API int jn_sync_run(jn_sync *sync, struct jn_sync_stats *stats);

/* Runs passes forever, waiting between them in a long poll on the inbox
 * (wait_s seconds, 0: 60), so nothing runs while nothing happens. Transient
 * failures back off; returns only on an error a retry cannot fix. */
JN_API int jn_sync_watch(jn_sync *sync, unsigned wait_s);

/* Asks the relay for the family's members now (GET /v1/family) and keeps
 * them as the store's contacts: for a name nobody here has heard of yet,
 * such as a member who joined a second ago. One attempt, no retry. */
JN_API int jn_sync_refresh_family(jn_sync *sync);

/* Downloads one inbox message now, whatever the data budget and quiet
 * hours say: the person asked to play it. Its cost is counted as any
 * other. 0 (also when it is already here), JS_ERR_NOT_FOUND, or the
 * download's error. */
JN_API int jn_sync_fetch(jn_sync *sync, const char *id);

/* libcurl's or the relay's words on the last failure, one line; "" if none. */
JN_API const char *jn_sync_last_error(const jn_sync *sync);

#endif

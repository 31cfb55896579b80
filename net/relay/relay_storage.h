/*
 * The relay's storage interface: everything the routes keep lives behind
 * this struct of function pointers. relay_storage_sqlite.c is the embedded
 * implementation; a PostgreSQL one would be another file next to it, and the
 * routes would not change. Not part of net.h: only the relay uses it.
 *
 * Every function returns 0 (or a documented positive value) on success or a
 * negative code: -ENOENT when the thing asked for does not exist, -EEXIST,
 * -ESTALE for an offset conflict, -ENOSPC when a limit is reached, -EIO for a
 * database failure.
 *
 * Writes are atomic and visible when they return, and survive the process
 * being killed; they are durable (survive a power cut) once make_durable()
 * returned after them. That split lets the relay sync many requests' writes
 * at once (group commit) before it acknowledges any of them.
 *
 * A handle is used by one thread at a time, except make_durable(), which may
 * run on another thread at the same time as the handle's other calls.
 *
 * relay_storage_pg.c keeps the same guarantees for several relay processes
 * on one PostgreSQL database; the ops marked "optional" below are NULL in
 * the SQLite implementation, where one process holds all the state. A
 * PostgreSQL handle whose connection is lost answers -ENOTCONN until it is
 * back (the relay then answers 503 with Retry-After).
 */
#ifndef JIASHU_NET_RELAY_STORAGE_H
#define JIASHU_NET_RELAY_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_ID_LEN         32 /* ids are 16 random bytes in lowercase hex */
#define RELAY_UUID_LEN       36
#define RELAY_MAX_RECIPIENTS 64
#define RELAY_PROOF_MAX      128

struct relay_device {
    char id[RELAY_ID_LEN + 1];
    char family_id[RELAY_ID_LEN + 1];
    char name[65];
    int64_t joined;
};

/* An upload and, once its last byte landed, the message it became. */
struct relay_upload {
    int64_t rowid;
    char upload_id[RELAY_ID_LEN + 1];
    char message_id[RELAY_UUID_LEN + 1];
    char family_id[RELAY_ID_LEN + 1];
    char sender_id[RELAY_ID_LEN + 1];
    uint64_t length;
    uint64_t offset;
    uint64_t duration_ms;
    int64_t created;
    int64_t expires;   /* only meaningful while incomplete */
    int64_t completed; /* 0 while incomplete */
    uint8_t sha256[32];
    /* The whole message's SHA-256 as its sender declared it at creation;
     * the upload completes only when its bytes match. */
    int has_declared_sha256;
    uint8_t declared_sha256[32];
    unsigned n_recipients;
    char recipients[RELAY_MAX_RECIPIENTS][RELAY_ID_LEN + 1];
    char metadata[1025]; /* the Upload-Metadata header as received, echoed on HEAD */
};

struct relay_inbox_entry {
    int64_t cursor;
    char message_id[RELAY_UUID_LEN + 1];
    char sender_id[RELAY_ID_LEN + 1];
    uint64_t length;
    uint64_t duration_ms;
    int64_t created;
    uint8_t sha256[32];
};

struct relay_receipt {
    int64_t cursor;
    char message_id[RELAY_UUID_LEN + 1];
    char device_id[RELAY_ID_LEN + 1];
    const char *state; /* "delivered", "played" or "rejected" */
    int64_t at;
    char proof[RELAY_PROOF_MAX + 1]; /* the recipient's signature (base64), "" if none */
};

/* A pairing's mailbox (net/PROTOCOL.md, "Pairing"): three opaque messages,
 * base64 text the relay never decodes, held for devices that are not
 * online at the same time. */
#define RELAY_PAIR_MSG_MAX 5464 /* base64 of 4096 bytes */
struct relay_pairing {
    char nameplate[8];
    char family_id[RELAY_ID_LEN + 1];
    int64_t expires;
    int claimed;
    uint8_t claim_hash[32];
    char msg_a[RELAY_PAIR_MSG_MAX + 1];
    char msg_b[RELAY_PAIR_MSG_MAX + 1]; /* "" until the joiner answers */
    char msg_c[RELAY_PAIR_MSG_MAX + 1]; /* "" until the inviter confirms (or refuses) */
};
#define RELAY_ROSTER_MAX 8192

struct relay_cleanup_counts {
    unsigned uploads;  /* expired partial uploads removed */
    unsigned messages; /* messages removed after retention */
    unsigned invites;  /* expired or used invites removed */
};

/* What a cross-process wake-up is for (listen() below). */
enum relay_event_kind {
    RELAY_EVENT_ALL = 0,      /* every waiter: notifications may have been lost */
    RELAY_EVENT_INBOX = 1,    /* a message reached the device's mailbox */
    RELAY_EVENT_RECEIPTS = 2, /* a receipt reached the sender */
};

struct relay_storage;

struct relay_storage_ops {
    void (*close)(struct relay_storage *s);
    /* Makes every write returned so far durable; thread-safe (see above). */
    int (*make_durable)(struct relay_storage *s);
    /* Copies committed writes from the log into the database without
     * blocking writers on other handles (SQLite: a passive WAL checkpoint).
     * The handles that answer requests never do it themselves. */
    int (*checkpoint)(struct relay_storage *s);

    /* A new family with its first device and an invite; -EUSERS when the
     * relay already has max_families families (0: no limit), counted in
     * the same transaction whatever other threads and processes wrote. */
    int (*family_create)(struct relay_storage *s, const struct relay_device *first,
                         const uint8_t token_hash[32], const uint8_t code_hash[32],
                         int64_t invite_expires, unsigned max_families);
    /* -ENOSPC when the family has max_invites live invites. */
    int (*invite_create)(struct relay_storage *s, const char *family_id,
                         const uint8_t code_hash[32], int64_t expires, int64_t now,
                         unsigned max_invites);
    /* Redeems an invite: -ENOENT unknown or used, -ETIME expired, -ENOSPC the
     * family has max_devices devices, -EEXIST a live device of the family
     * has dev->name (ASCII case ignored; the invite stays usable then). On
     * success dev->family_id is filled. */
    int (*join)(struct relay_storage *s, const uint8_t code_hash[32], int64_t now,
                struct relay_device *dev, const uint8_t token_hash[32], unsigned max_devices);
    /* The device holding this token hash (revoked devices are -ENOENT). */
    int (*device_by_token)(struct relay_storage *s, const uint8_t token_hash[32],
                           struct relay_device *out);
    /* -ENOENT when not a device of this family. */
    int (*device_revoke)(struct relay_storage *s, const char *family_id, const char *device_id);
    int (*members)(struct relay_storage *s, const char *family_id,
                   int (*cb)(void *ctx, const struct relay_device *d), void *ctx);
    /* 1 when device_id is a live device of family_id, 0 when not. */
    int (*is_member)(struct relay_storage *s, const char *family_id, const char *device_id);

    /* Bytes held for a family (complete and partial uploads) and the number
     * of messages waiting for a device's "delivered" receipt. */
    int (*family_usage)(struct relay_storage *s, const char *family_id, uint64_t *bytes);
    int (*mailbox_pending)(struct relay_storage *s, const char *device_id, uint64_t *count);
    /* The whole relay: bytes held by every family (as family_usage counts
     * them) and the number of families. */
    int (*relay_usage)(struct relay_storage *s, uint64_t *bytes, uint64_t *families);

    /* Creates u (upload_id, message_id, ... filled by the caller). When an
     * upload with u->message_id exists from the same sender, returns 1 and
     * fills u with it (first is ignored); from another sender, -EEXIST.
     * first_len bytes of first, if any, are written at offset 0 in the same
     * transaction (creation-with-upload); 2 when they completed the message,
     * which is then delivered as by upload_write. A new upload is refused
     * in the same transaction when the family's bytes plus u->length would
     * pass max_family_bytes (-ENOSPC), every family's bytes together plus
     * u->length would pass max_storage_bytes (-ENOBUFS; 0: no limit) or a
     * recipient already has max_mailbox undelivered messages (-EDQUOT),
     * whatever other threads and processes wrote. */
    int (*upload_create)(struct relay_storage *s, struct relay_upload *u, const void *first,
                         size_t first_len, int64_t now, uint64_t max_family_bytes,
                         uint64_t max_storage_bytes, unsigned max_mailbox);
    int (*upload_get)(struct relay_storage *s, const char *upload_id, struct relay_upload *out);
    /* The upload (complete or not) carrying this message id. */
    int (*upload_by_message)(struct relay_storage *s, const char *message_id,
                             struct relay_upload *out);
    /* Appends data at offset: -ESTALE when offset is not the upload's, -EFBIG
     * past its length. When the last byte lands, in the same transaction,
     * the message is hashed and put in each recipient's mailbox; returns 1
     * then. When the hash is not the declared one, nothing is delivered:
     * the upload is deleted (its sender creates it again) and -EBADMSG is
     * returned. u is refreshed either way. upload_create's first bytes are
     * checked the same way (-EBADMSG, nothing created). */
    int (*upload_write)(struct relay_storage *s, const char *upload_id, uint64_t offset,
                        const void *data, size_t len, int64_t now, struct relay_upload *u);
    int (*upload_delete)(struct relay_storage *s, const char *upload_id);

    int (*message_get)(struct relay_storage *s, const char *message_id, struct relay_upload *out);
    /* 1 when device_id is a recipient of the message, 0 when not. */
    int (*is_recipient)(struct relay_storage *s, int64_t rowid, const char *device_id);
    int (*message_read)(struct relay_storage *s, int64_t rowid, uint64_t offset, void *buf,
                        size_t len);

    /* Entries of a device's mailbox with cursor > after, oldest first. */
    int (*inbox)(struct relay_storage *s, const char *device_id, int64_t after, unsigned limit,
                 int (*cb)(void *ctx, const struct relay_inbox_entry *e), void *ctx);
    /* Records a receipt; "played" implies "delivered"; "rejected" (the
     * device will never play it) stands for "delivered" and settles the
     * mailbox entry the same way. Returns 1 when it
     * was new, 0 when it was already there. proof (base64, or NULL) is
     * kept with the state named, the first one given. */
    int (*receipt_add)(struct relay_storage *s, int64_t rowid, const char *device_id,
                       const char *state, const char *proof, int64_t now);
    /* Receipts on messages sent by sender_id with cursor > after. */
    int (*receipts)(struct relay_storage *s, const char *sender_id, int64_t after, unsigned limit,
                    int (*cb)(void *ctx, const struct relay_receipt *r), void *ctx);

    /* Pairings. create: -EEXIST the nameplate is open already, -ENOSPC the
     * family has max_open open pairings. get: -ENOENT unknown or expired.
     * set: writes one of "claim" (value: 32-byte hash), "msg_b" or "msg_c"
     * (base64 text) only while it is empty; -EEXIST when it is not. */
    int (*pairing_create)(struct relay_storage *s, const char *family_id, const char *nameplate,
                          const char *msg_a, int64_t expires, int64_t now, unsigned max_open);
    int (*pairing_get)(struct relay_storage *s, const char *nameplate, int64_t now,
                       struct relay_pairing *out);
    int (*pairing_set)(struct relay_storage *s, const char *nameplate, const char *field,
                       const void *value, size_t len);

    /* The family's roster, opaque bytes: get fills *data (malloc'd) or
     * -ENOENT; put replaces it only if the held one's SHA-256 is expect
     * (NULL: only if there is none), else -ESTALE. */
    int (*roster_get)(struct relay_storage *s, const char *family_id, void **data, size_t *len);
    int (*roster_put)(struct relay_storage *s, const char *family_id, const void *data, size_t len,
                      const uint8_t expect[32]);

    /* Removes expired partial uploads and invites, and messages every
     * recipient has had for `retention` seconds or that are older than
     * max_age seconds: at most `batch` rows of each kind in one short
     * transaction, so that writers wait for one batch only. The caller
     * calls again while a count reached batch. Each call also gives some
     * freed space back to the file system (SQLite: incremental vacuum). */
    int (*cleanup)(struct relay_storage *s, int64_t now, int64_t retention, int64_t max_age,
                   unsigned batch, struct relay_cleanup_counts *counts);

    /* 0 when the database answers, -ENOTCONN when it cannot be reached.
     * With probe 0 it only tells what the last call found. */
    int (*ping)(struct relay_storage *s, int probe);

    /* Optional: a token bucket shared by every process. Takes a token from
     * bucket (limiter, slot): 0, or -EAGAIN with *retry_after in seconds. */
    int (*limit_take)(struct relay_storage *s, unsigned limiter, uint64_t slot, double rate,
                      double burst, unsigned *retry_after);
    /* Optional: a random value kept in the database, the same for every
     * process (the key of the rate limits' hash). */
    int (*shared_seed)(struct relay_storage *s, uint64_t *seed);
    /* Optional: blocks, calling wake() for each message or receipt that any
     * process stored (device_id NULL with RELAY_EVENT_ALL after a lost
     * connection), until stop_fd becomes readable. Reconnects by itself.
     * Its handle does nothing else. */
    int (*listen)(struct relay_storage *s, int stop_fd,
                  void (*wake)(void *ctx, int kind, const char *device_id), void *ctx);
};

/* The steps each backend takes inside the transactions whose order and
 * decisions relay_storage.c keeps once for both. */
struct relay_storage_steps {
    int (*begin)(struct relay_storage *s);
    int (*commit)(struct relay_storage *s);
    void (*rollback)(struct relay_storage *s);
    /* The upload, with its row locked against another relay's write where
     * the database needs it. */
    int (*upload_fetch)(struct relay_storage *s, const char *upload_id, struct relay_upload *u);
    /* Appends len bytes at offset in the open transaction and delivers the
     * message when they complete it: 1 then, 0 otherwise, -EBADMSG when
     * the whole is not the message declared (nothing delivered). */
    int (*upload_append)(struct relay_storage *s, struct relay_upload *u, uint64_t offset,
                         const void *data, size_t len, int64_t now);
    /* Deletes an upload in a write of its own, after a rollback. */
    int (*upload_drop)(struct relay_storage *s, const char *upload_id);
    /* The family's roster (malloc'd) with the family locked where the
     * database needs it: 0, -ENOENT or an error. */
    int (*roster_read)(struct relay_storage *s, const char *family_id, void **data, size_t *len);
    int (*roster_write)(struct relay_storage *s, const char *family_id, const void *data,
                        size_t len);
};

struct relay_storage {
    const struct relay_storage_ops *ops;
    const struct relay_storage_steps *steps;
};

/* relay_storage.c: adds the recipients of a stored list "id,id,..." to u
 * (each backend keeps them so); what is not an id is passed over. */
void relay_upload_read_recipients(struct relay_upload *u, const char *list);
/* relay_storage.c: the ops upload_write and roster_put, for both backends,
 * on their steps. */
int relay_storage_upload_write(struct relay_storage *s, const char *upload_id, uint64_t offset,
                               const void *data, size_t len, int64_t now, struct relay_upload *u);
int relay_storage_roster_put(struct relay_storage *s, const char *family_id, const void *data,
                             size_t len, const uint8_t expect[32]);

/* Opens (creating if needed) the SQLite database at path. */
int relay_storage_sqlite_open(const char *path, struct relay_storage **out);

/* One line to the relay's log: the program's callback (jn_relay_config.log),
 * or nowhere. printf-style, without the newline. */
void relay_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum relay_open_flags {
    RELAY_OPEN_MIGRATE = 1, /* bring the schema to this program's version first */
    RELAY_OPEN_DURABLE = 2, /* the handle that runs make_durable() */
};

/* Connects to PostgreSQL (a libpq connection string or postgresql:// URI).
 * -ENOTCONN when unreachable, -EPROTO when the schema is not this
 * program's version (and RELAY_OPEN_MIGRATE was not given). */
int relay_storage_pg_open(const char *conninfo, int flags, struct relay_storage **out);
/* The schema version this program's PostgreSQL storage needs. */
int relay_storage_pg_version(void);

/* True when db names a PostgreSQL database rather than a SQLite file. */
int relay_storage_is_pg(const char *db);

#endif

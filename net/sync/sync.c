/*
 * The sync engine: moves the outbox up, the inbox down and the receipts
 * both ways. The store is the only memory: every acknowledged step lands
 * there at once, and every step is idempotent on the relay (creation by
 * message id, mailbox entries unique per message, receipts once per state),
 * so a pass killed anywhere is finished by the next one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "client_internal.h"
#include "net/e2e/e2e.h"

struct jn_sync {
    js_store *store;
    jn_http *http;
    jn_sync_event_fn on_event;
    void *user;
    char device_id[JS_PEER_MAX + 1];
    struct jn_sync_stats stats;
    bool members_fresh;
    unsigned deadline_s;
    int64_t clock_offset_ms;
    /* The message the exchanges under way belong to ("" : the device's
     * own traffic), for the data ledger. */
    char traffic_id[JS_ID_LEN + 1];
    /* Read at the start of each pass (JN_SETTING_*). */
    bool budget_set;
    uint64_t budget_bytes;
    bool quiet_now;
    const char *postpone_why; /* this pass's reason to hold large downloads, or NULL */
    unsigned postponed;
    uint64_t postponed_bytes;
    /* End-to-end state for this pass (docs/encryption.md): set when the
     * home holds a roster; then every note goes up sealed, every note that
     * comes down must open, and every receipt carries a signature. */
    bool encrypted;
    struct je_roster *roster;
    struct je_identity self;
    uint8_t self_id[JE_ID_BYTES];
    /* The receipts this pass's inbox answer carried ({"receipts",
     * "cursor"}), asked from the receipt cursor, which nothing moves before
     * step_receipts_in takes them instead of asking again. */
    json_t *receipts_page;
    /* Whether this pass has asked the relay for the roster (or learnt from
     * the inbox answer that the held one is the relay's). */
    bool roster_checked;
};

struct message_list {
    struct js_message *items;
    size_t count;
    size_t cap;
};

static void emit(jn_sync *sync, enum jn_sync_event_kind kind, const char *id, const char *state,
                 uint64_t done, uint64_t total, int err)
{
    struct jn_sync_event ev = {
        .kind = kind, .message_id = id, .state = state, .done = done, .total = total, .err = err};

    if (sync->on_event)
        sync->on_event(sync->user, &ev);
}

/* A transfer ended well: its id, size and the cuts it survived (and, for a
 * download, whether it came in quiet hours). */
static void emit_done(jn_sync *sync, enum jn_sync_event_kind kind, const struct js_message *m,
                      unsigned interruptions)
{
    struct jn_sync_event ev = {.kind = kind,
                               .message_id = m->id,
                               .done = m->length,
                               .total = m->length,
                               .interruptions = interruptions,
                               .quiet = kind == JN_SYNC_DOWNLOAD_DONE && sync->quiet_now};

    if (sync->on_event)
        sync->on_event(sync->user, &ev);
}

static int collect(void *user, const struct js_message *m)
{
    struct message_list *list = user;

    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct js_message *grown = realloc(list->items, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->count++] = *m;
    return 0;
}

/* ---- data counted ------------------------------------------------------------ */

static int64_t now_ms(const jn_sync *sync)
{
    return ju_wall_ms() + sync->clock_offset_ms;
}

/* Every exchange is booked as it ends, so a sync killed later loses none
 * of what it already counted. A failure to book is not worth stopping a
 * sync for: the bytes went anyway. */
static void on_traffic(void *user, uint64_t sent, uint64_t received)
{
    jn_sync *sync = user;

    (void)js_traffic_add(sync->store, sync->traffic_id[0] ? sync->traffic_id : NULL, sent, received,
                         now_ms(sync));
}

static void set_traffic_id(jn_sync *sync, const char *id)
{
    snprintf(sync->traffic_id, sizeof(sync->traffic_id), "%s", id ? id : "");
}

bool jn_quiet_hours_contain(int start_min, int end_min, int minute_of_day)
{
    if (start_min <= end_min)
        return minute_of_day >= start_min && minute_of_day < end_min;
    return minute_of_day >= start_min || minute_of_day < end_min;
}

/* The budget and the quiet hours as the settings say now. A setting that
 * does not parse (written by hand) counts as absent. */
static void read_limits(jn_sync *sync)
{
    char value[JS_SETTING_MAX + 1];
    uint64_t mb;
    int start, end;

    sync->budget_set =
        js_setting_get(sync->store, JS_SETTING_DATA_BUDGET, value, sizeof(value)) > 0 &&
        ju_parse_u64(value, JS_MAX_DATA_BUDGET_MB, &mb) == 0;
    sync->budget_bytes = sync->budget_set ? mb * 1000000 : 0;
    sync->quiet_now = false;
    if (js_setting_get(sync->store, JS_SETTING_QUIET_HOURS, value, sizeof(value)) > 0 &&
        ju_parse_time_span(value, &start, &end) == 0) {
        time_t t = (time_t)(now_ms(sync) / 1000);
        struct tm tm;
        if (localtime_r(&t, &tm))
            sync->quiet_now = jn_quiet_hours_contain(start, end, tm.tm_hour * 60 + tm.tm_min);
    }
}

/* Why a download of m must wait now, or NULL: small notes never wait. */
static const char *postpone_reason(jn_sync *sync, const struct js_message *m)
{
    uint64_t used = 0;

    if (m->length <= JN_SMALL_NOTE_BYTES)
        return NULL;
    if (sync->quiet_now)
        return "quiet hours";
    if (sync->budget_set && (js_traffic_month(sync->store, now_ms(sync), NULL, NULL, &used) < 0 ||
                             used + (m->length - m->offset) > sync->budget_bytes))
        return "data budget";
    return NULL;
}

int jn_sync_create(const struct jn_sync_config *config, jn_sync **out)
{
    char url[JS_SETTING_MAX + 1], token[JS_SETTING_MAX + 1], ca[JS_SETTING_MAX + 1];
    struct jn_http_config hc = {0};
    jn_sync *sync;
    int err;

    *out = NULL;
    sync = calloc(1, sizeof(*sync));
    if (!sync)
        return -ENOMEM;
    sync->store = config->store;
    sync->on_event = config->on_event;
    sync->user = config->user;
    sync->deadline_s = config->deadline_s;
    if (js_setting_get(sync->store, JS_SETTING_RELAY_URL, url, sizeof(url)) < 0 ||
        js_setting_get(sync->store, JS_SETTING_DEVICE_TOKEN, token, sizeof(token)) < 0 ||
        js_setting_get(sync->store, JS_SETTING_DEVICE_ID, sync->device_id,
                       sizeof(sync->device_id)) < 0) {
        err = JN_ERR_NOT_SET_UP;
        goto error_sync;
    }
    hc.base_url = url;
    hc.token = token;
    hc.connect_timeout_s = config->connect_timeout_s;
    if (js_setting_get(sync->store, JS_SETTING_CA_FILE, ca, sizeof(ca)) > 0)
        hc.ca_file = ca;
    err = jn_http_create(&hc, &sync->http);
    if (err)
        goto error_sync;
    sync->clock_offset_ms = config->clock_offset_ms;
    jn_http_set_traffic_fn(sync->http, on_traffic, sync);
    *out = sync;
    return 0;

error_sync:
    free(sync);
    return err;
}

void jn_sync_destroy(jn_sync *sync)
{
    if (!sync)
        return;
    jn_http_destroy(sync->http);
    free(sync->roster);
    json_decref(sync->receipts_page);
    je_wipe(&sync->self, sizeof(sync->self));
    free(sync);
}

/* ---- end-to-end ------------------------------------------------------------ */

static void report_pairing(void *user, const char *nameplate, const char *name, int err)
{
    jn_sync *sync = user;

    emit(sync, err ? JN_SYNC_PAIRING_FAILED : JN_SYNC_PAIRED, NULL, name, 0, 0, err);
    (void)nameplate;
}

/* Brings the held roster up to date with the relay's (once a pass) and
 * loads it for sealing and opening. */
static int roster_refresh(jn_sync *sync)
{
    int err;

    if (!sync->encrypted || sync->roster_checked)
        return 0;
    err = jn_e2e_roster_refresh(sync->http, sync->store);
    if (err == JE_ERR_ROSTER || err == JE_ERR_SIGNATURE || err == JE_ERR_MALFORMED)
        err = 0; /* a roster no member signed is not kept; the held one stands */
    if (err < 0)
        return err;
    sync->roster_checked = true;
    return je_vault_roster(sync->store, sync->roster, NULL, NULL);
}

/* Finishes pairings this device started and loads what the pass needs to
 * seal and open. The roster is asked for only when it is needed: before a
 * note is sealed, and when the inbox answer names another roster than the
 * held one (on most passes it does not, which saves a request). */
static int e2e_prepare(jn_sync *sync)
{
    int err;

    sync->roster_checked = false;
    sync->encrypted = je_vault_encrypted(sync->store);
    if (!sync->encrypted)
        return 0;
    if (!sync->roster && !(sync->roster = malloc(sizeof(*sync->roster))))
        return -ENOMEM;
    err = jn_e2e_pairings_step(sync->http, sync->store, report_pairing, sync);
    if (err)
        return err;
    err = je_vault_roster(sync->store, sync->roster, NULL, NULL);
    if (!err)
        err = je_vault_identity(sync->store, &sync->self);
    if (!err)
        err = je_id_parse(sync->device_id, sync->self_id) ? JN_ERR_NOT_SET_UP : 0;
    return err;
}

/* After an inbox answer: the roster is fetched when the relay holds
 * another one than this device, or does not say (an older relay). */
static int roster_follow(jn_sync *sync, json_t *answer)
{
    const char *relays = json_string_value(json_object_get(answer, "roster"));
    char held[JS_SETTING_MAX + 1] = "";

    if (!sync->encrypted || sync->roster_checked)
        return 0;
    if (relays && js_setting_get(sync->store, JS_SETTING_ROSTER_ETAG, held, sizeof(held)) > 0 &&
        strcmp(held, relays) == 0) {
        sync->roster_checked = true;
        return 0;
    }
    return roster_refresh(sync);
}

static bool e2e_error(int err)
{
    return err <= -5001 && err > -5100;
}

/* ---- members ---------------------------------------------------------------- */

static int put_member(void *user, const char *device_id, const char *name)
{
    return js_contact_put(user, device_id, name);
}

static int refresh_members(jn_sync *sync)
{
    int err;

    if (sync->members_fresh)
        return 0;
    err = jn_family_members(sync->http, put_member, sync->store);
    if (err < 0)
        return err;
    sync->members_fresh = true;
    return 0;
}

int jn_sync_refresh_family(jn_sync *sync)
{
    int err = jn_family_members_tries(sync->http, 1, put_member, sync->store);
    return err < 0 ? err : 0;
}

struct recipients {
    char list[1024];
    const char *self;
};

static int add_recipient(void *user, const struct js_contact *c)
{
    struct recipients *r = user;
    size_t n = strlen(r->list);

    if (!strcmp(c->device_id, r->self))
        return 0;
    if (n + strlen(c->device_id) + 2 > sizeof(r->list))
        return JN_ERR_TOO_LARGE;
    snprintf(r->list + n, sizeof(r->list) - n, "%s%s", n ? "," : "", c->device_id);
    return 0;
}

/* The device ids a message goes to: its peer (a name or a device id), or
 * every other member when the peer is "" (the whole family). */
static int resolve_recipients(jn_sync *sync, const char *peer, struct recipients *r)
{
    struct js_contact c;
    int err, round;

    r->self = sync->device_id;
    for (round = 0; round < 2; round++) {
        r->list[0] = '\0';
        if (peer[0]) {
            err = js_contact_find(sync->store, peer, &c);
            if (!err)
                err = add_recipient(r, &c);
        } else {
            err = js_contacts_list(sync->store, add_recipient, r);
            err = err < 0 ? err : 0;
        }
        if (err && err != JS_ERR_NOT_FOUND)
            return err;
        if (!err && r->list[0])
            return 0;
        if (round == 0) {
            /* Someone may have joined since: ask the relay once. */
            err = refresh_members(sync);
            if (err)
                return err;
        }
    }
    return JS_ERR_NOT_FOUND;
}

/* ---- uploads ---------------------------------------------------------------- */

static int append_meta(char *buf, size_t size, const char *key, const char *value)
{
    size_t n = strlen(buf), vlen = strlen(value),
           need = n + strlen(key) + 2 + 4 * (vlen / 3 + 1) + 1;

    if (need > size)
        return JN_ERR_TOO_LARGE;
    n += (size_t)snprintf(buf + n, size - n, "%s%s ", n ? "," : "", key);
    sodium_bin2base64(buf + n, size - n, (const unsigned char *)value, vlen,
                      sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

struct upload_ctx {
    jn_sync *sync;
    const char *id;
    /* A sealed note is longer than the note the store holds: its progress
     * is kept in the store scaled to the note's length. */
    uint64_t scale_to, scale_from;
};

static int on_upload_offset(void *user, uint64_t offset)
{
    struct upload_ctx *u = user;

    if (u->scale_from)
        offset = offset >= u->scale_from ? u->scale_to : offset * u->scale_to / u->scale_from;
    return js_outbox_set_offset(u->sync->store, u->id, offset);
}

static void on_upload_progress(void *user, uint64_t done, uint64_t total)
{
    struct upload_ctx *u = user;

    emit(u->sync, JN_SYNC_UPLOAD_PROGRESS, u->id, NULL, done, total, 0);
}

static int read_audio(jn_sync *sync, const struct js_message *m, unsigned char **out)
{
    unsigned char *data;
    size_t got, at = 0;
    int err;

    if (m->length == 0 || m->length > JS_MAX_NOTE_BYTES)
        return JS_ERR_INVALID;
    data = malloc((size_t)m->length);
    if (!data)
        return -ENOMEM;
    while (at < m->length) {
        err = js_message_read(sync->store, m->id, at, data + at, (size_t)m->length - at, &got);
        if (!err && got == 0)
            err = JS_ERR_STATE;
        if (err) {
            free(data);
            return err;
        }
        at += got;
    }
    *out = data;
    return 0;
}

/* The recipients of a sealed note: its peer (a name or device id) if it has
 * one, else every other member of the roster. */
static int sealed_recipients(jn_sync *sync, const char *peer, struct je_recipient *out,
                             unsigned *count)
{
    const struct je_roster *r = sync->roster;

    *count = 0;
    for (unsigned i = 0; i < r->count; i++) {
        const struct je_member *mb = &r->members[i];
        char hex[33];
        je_id_hex(mb->device_id, hex);
        if (!memcmp(mb->device_id, sync->self_id, JE_ID_BYTES))
            continue;
        if (peer[0] && strcmp(peer, hex) && strcmp(peer, mb->name))
            continue;
        memcpy(out[*count].device_id, mb->device_id, JE_ID_BYTES);
        memcpy(out[*count].box_pk, mb->box_pk, JE_BOX_PK_BYTES);
        (*count)++;
    }
    return *count ? 0 : JS_ERR_NOT_FOUND;
}

static int read_audio(jn_sync *sync, const struct js_message *m, unsigned char **out);

/* The note's envelope: the one sealed before (an upload resumes with the
 * very same bytes), or sealed now and kept until the relay holds it. */
static int sealed_note(jn_sync *sync, const struct js_message *m, uint8_t **env, size_t *env_len)
{
    struct je_recipient rcpt[JE_MAX_MEMBERS];
    struct je_seal_params sp = {
        .sender = &sync->self, .created_ms = (uint64_t)m->created_ms, .recipients = rcpt};
    unsigned char *note = NULL;
    int err = je_vault_sealed_get(sync->store, m->id, env, env_len);

    if (err != JS_ERR_NOT_FOUND)
        return err;
    /* Sealed for the family as the relay has it now: a member who joined
     * a second ago is among the recipients. */
    err = roster_refresh(sync);
    if (err)
        return err;
    if (!je_roster_find(sync->roster, sync->self_id))
        return JE_ERR_REMOVED;
    err = sealed_recipients(sync, m->peer, rcpt, &sp.recipient_count);
    if (!err)
        err = je_id_parse(m->id, sp.message_id);
    if (!err) {
        memcpy(sp.family_id, sync->roster->family_id, JE_ID_BYTES);
        memcpy(sp.sender_device_id, sync->self_id, JE_ID_BYTES);
        err = read_audio(sync, m, &note);
    }
    if (!err)
        err = je_seal(&sp, note, (size_t)m->length, env, env_len);
    if (note) {
        sodium_memzero(note, (size_t)m->length);
        free(note);
    }
    if (!err)
        err = je_vault_sealed_put(sync->store, m->id, *env, *env_len);
    return err;
}

/* The device ids an envelope was sealed for, comma-separated. */
static void envelope_recipients(const uint8_t *env, struct recipients *r)
{
    unsigned count = env[JE_HEADER_FIXED - 1];

    r->list[0] = '\0';
    for (unsigned i = 0; i < count; i++) {
        char hex[33];
        size_t n = strlen(r->list);
        je_id_hex(env + JE_HEADER_FIXED + i * JE_RECIPIENT_BYTES, hex);
        snprintf(r->list + n, sizeof(r->list) - n, "%s%s", n ? "," : "", hex);
    }
}

/* The relay's limit as its last creation answer gave it, for `record` to
 * refuse up front what it would not take; kept only when it changed. */
static void remember_relay_limit(jn_sync *sync, uint64_t bytes)
{
    char have[24], text[24];

    snprintf(text, sizeof(text), "%" PRIu64, bytes);
    if (js_setting_get(sync->store, JS_SETTING_RELAY_MAX_UPLOAD, have, sizeof(have)) <= 0 ||
        strcmp(have, text) != 0)
        (void)js_setting_set(sync->store, JS_SETTING_RELAY_MAX_UPLOAD, text);
}

static int upload_one(jn_sync *sync, const struct js_message *m)
{
    struct upload_ctx u = {sync, m->id, 0, 0};
    struct jn_tus_upload up = {.create_path = "/v1/uploads"};
    struct recipients r;
    char meta[1536] = "", duration[32], sha_hex[65];
    unsigned char *data = NULL, sha[crypto_hash_sha256_BYTES];
    int err;

    size_t len = (size_t)m->length;

    if (sync->encrypted) {
        err = sealed_note(sync, m, &data, &len);
        if (err)
            return err;
        envelope_recipients(data, &r);
        u.scale_to = m->length;
        u.scale_from = len;
    } else {
        err = resolve_recipients(sync, m->peer, &r);
        if (!err)
            err = read_audio(sync, m, &data);
        if (err)
            goto out;
    }
    /* The relay checks the whole upload (the envelope, when sealed)
     * against this before it delivers it. */
    crypto_hash_sha256(sha, data, len);
    ju_hex_encode(sha, sizeof(sha), sha_hex);
    snprintf(duration, sizeof(duration), "%" PRIu64, m->duration_ms);
    if ((err = append_meta(meta, sizeof(meta), "message_id", m->id)) ||
        (err = append_meta(meta, sizeof(meta), "recipients", r.list)) ||
        (err = append_meta(meta, sizeof(meta), "duration_ms", duration)) ||
        (err = append_meta(meta, sizeof(meta), "sha256", sha_hex)))
        goto out;
    up.metadata = meta;
    up.data = data;
    up.len = len;
    up.on_offset = on_upload_offset;
    up.progress = on_upload_progress;
    up.user = &u;
    /* A message already marked uploading may be on the relay, whole or in
     * part (a sync killed after its bytes left): ask before sending any.
     * A first attempt is marked first, so the next run knows. */
    up.upload_may_exist = m->state == JS_UPLOADING;
    if (!up.upload_may_exist && (err = js_outbox_set_offset(sync->store, m->id, 0)) < 0)
        goto out;
    emit(sync, JN_SYNC_UPLOAD_START, m->id, NULL, m->offset, m->length, 0);
    set_traffic_id(sync, m->id);
    err = jn_tus_upload_run(sync->http, &up);
    set_traffic_id(sync, NULL);
    sync->stats.bytes_resent += up.bytes_resent;
    if (up.largest_chunk > sync->stats.largest_chunk)
        sync->stats.largest_chunk = up.largest_chunk;
    sync->stats.interruptions += up.interruptions + (up.connections > 1 ? up.connections - 1 : 0);
    if (up.max_size > 0)
        remember_relay_limit(sync, (uint64_t)up.max_size);
    if (!err)
        err = js_outbox_mark(sync->store, m->id, JS_SENT);
    if (!err && sync->encrypted)
        je_vault_sealed_delete(sync->store, m->id); /* the relay holds it now */
    if (!err) {
        sync->stats.uploaded++;
        emit_done(sync, JN_SYNC_UPLOAD_DONE, m,
                  up.interruptions + (up.connections > 1 ? up.connections - 1 : 0));
    }
out:
    free(data);
    return err;
}

static bool stops_the_pass(int err)
{
    /* Errors about one message let the others go; the rest end the pass. */
    switch (err) {
    case JN_ERR_FORBIDDEN:
    case JN_ERR_NOT_FOUND:
    case JN_ERR_GONE:
    case JN_ERR_TOO_LARGE:
    case JN_ERR_BAD_REQUEST:
    case JN_ERR_HTTP:
    case JN_ERR_CONFLICT:
    case JS_ERR_NOT_FOUND:
    case JS_ERR_EVICTED:
    case JS_ERR_INVALID:
    case JS_ERR_STATE:
        return false;
    }
    return true;
}

static int step_uploads(jn_sync *sync)
{
    struct message_list list = {0};
    size_t i;
    int err;

    err = js_messages_list(sync->store, JS_OUTBOX, JS_READY | JS_UPLOADING, collect, &list);
    /* The relay's limit, for `record` to refuse up front what it would
     * not take: asked (OPTIONS) only when none is known; our relay repeats
     * it in every creation answer, which keeps it up to date at no cost
     * (upload_one). A relay that cannot say keeps the one learned before. */
    if (err >= 0 && list.count > 0) {
        char have[24];
        if (js_setting_get(sync->store, JS_SETTING_RELAY_MAX_UPLOAD, have, sizeof(have)) <= 0)
            jn_learn_relay_limit(sync->http, sync->store);
    }
    for (i = 0; err >= 0 && i < list.count; i++) {
        err = upload_one(sync, &list.items[i]);
        if (err && !stops_the_pass(err)) {
            sync->stats.failed++;
            emit(sync, JN_SYNC_FAILED, list.items[i].id, NULL, 0, list.items[i].length, err);
            err = 0;
        }
    }
    free(list.items);
    return err < 0 ? err : 0;
}

/* ---- receipts out --------------------------------------------------------- */

struct receipt_list {
    struct js_receipt *items;
    size_t count, cap;
};

static int collect_receipt(void *user, const struct js_receipt *r)
{
    struct receipt_list *list = user;

    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct js_receipt *grown = realloc(list->items, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->count++] = *r;
    return 0;
}

static int step_receipts_out(jn_sync *sync)
{
    struct receipt_list list = {0};
    size_t i;
    int err;

    err = js_receipts_pending(sync->store, collect_receipt, &list);
    for (i = 0; err >= 0 && i < list.count; i++) {
        const struct js_receipt *r = &list.items[i];
        const char *state = r->state == JS_PLAYED    ? "played"
                            : r->state == JS_REFUSED ? "rejected"
                                                     : "delivered";
        char path[96], proof[100] = "";
        json_t *body;

        if (sync->encrypted && r->state != JS_REFUSED) {
            /* The recipient's word, signed: the relay cannot forge it. */
            uint8_t mid[JE_ID_BYTES], sig[JE_SIG_BYTES];
            if (je_id_parse(r->message_id, mid) == 0 &&
                je_receipt_sign(&sync->self, mid, sync->roster->family_id, sync->self_id,
                                r->state == JS_PLAYED ? JE_RECEIPT_PLAYED : JE_RECEIPT_DELIVERED,
                                sig) == 0)
                sodium_bin2base64(proof, sizeof(proof), sig, sizeof(sig),
                                  sodium_base64_VARIANT_ORIGINAL);
        }
        body = proof[0] ? json_pack("{s:s,s:s}", "state", state, "proof", proof)
                        : json_pack("{s:s}", "state", state);

        if (!body) {
            err = -ENOMEM;
            break;
        }
        snprintf(path, sizeof(path), "/v1/messages/%s/receipts", r->message_id);
        set_traffic_id(sync, r->message_id);
        err = jn_json_call(sync->http, "POST", path, body, 0, 0, NULL);
        set_traffic_id(sync, NULL);
        json_decref(body);
        if (err == JN_ERR_NOT_FOUND || err == JN_ERR_FORBIDDEN) {
            /* The relay has forgotten the message (retention): nobody is
             * left to tell, so the receipt is done with. */
            err = 0;
        } else if (!err) {
            sync->stats.receipts_sent++;
            emit(sync, JN_SYNC_RECEIPT_SENT, r->message_id, state, 0, 0, 0);
        }
        if (!err)
            err = js_receipt_sent(sync->store, r->id);
    }
    free(list.items);
    return err < 0 ? err : 0;
}

/* ---- inbox ------------------------------------------------------------------ */

static int64_t get_cursor(jn_sync *sync, const char *key)
{
    char buf[32];
    int64_t v;

    if (js_setting_get(sync->store, key, buf, sizeof(buf)) <= 0 ||
        ju_parse_i64(buf, 0, INT64_MAX, &v) < 0)
        return 0;
    return v;
}

static int set_cursor(jn_sync *sync, const char *key, int64_t cursor)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, cursor);
    return js_setting_set(sync->store, key, buf);
}

static const char *string_field(json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;

    return s && strlen(s) > 0 && strlen(s) <= max ? s : NULL;
}

/* Keeps the receipts an inbox answer carried (the relay adds them when
 * asked with receipts_after) for step_receipts_in. */
static void keep_receipts(jn_sync *sync, json_t *answer)
{
    json_t *receipts = json_object_get(answer, "receipts");
    json_t *cursor = json_object_get(answer, "receipts_cursor");

    json_decref(sync->receipts_page);
    sync->receipts_page = NULL;
    if (!json_is_array(receipts) || !json_is_integer(cursor))
        return; /* a relay that only says receipts_pending: step_receipts_in asks */
    sync->receipts_page = json_pack("{sOsO}", "receipts", receipts, "cursor", cursor);
}

static int step_inbox(jn_sync *sync, unsigned wait_s)
{
    int64_t cursor = get_cursor(sync, JS_SETTING_INBOX_CURSOR);
    int64_t receipts_after = get_cursor(sync, JS_SETTING_RECEIPT_CURSOR);
    int err = 0;

    for (;;) {
        char path[160];
        json_t *answer = NULL, *messages, *m, *next;
        size_t i, count;
        int64_t reached;
        bool full = false;

        /* The answer also carries the receipts on our own messages, and a
         * watch's wait also ends on one. */
        snprintf(path, sizeof(path), "/v1/inbox?after=%" PRId64 "&wait=%u&receipts_after=%" PRId64,
                 cursor, wait_s, receipts_after);
        err = jn_json_call(sync->http, "GET", path, NULL, wait_s, 0, &answer);
        if (!err && !answer)
            err = JN_ERR_PROTOCOL;
        if (err)
            return err;
        keep_receipts(sync, answer);
        err = roster_follow(sync, answer);
        if (err) {
            json_decref(answer);
            return err;
        }
        messages = json_object_get(answer, "messages");
        next = json_object_get(answer, "cursor");
        if (!json_is_array(messages) || !json_is_integer(next) ||
            json_integer_value(next) < cursor) {
            json_decref(answer);
            return JN_ERR_PROTOCOL;
        }
        count = json_array_size(messages);
        reached = cursor;
        json_array_foreach(messages, i, m)
        {
            const char *id = string_field(m, "message_id", JS_ID_LEN);
            const char *from = string_field(m, "from", JS_PEER_MAX);
            const char *sha = string_field(m, "sha256", 64);
            json_t *len = json_object_get(m, "length");
            json_t *c = json_object_get(m, "cursor");

            if (!id || !from || !sha || !json_is_integer(len) || json_integer_value(len) <= 0 ||
                !json_is_integer(c)) {
                err = JN_ERR_PROTOCOL;
                break;
            }
            err = js_inbox_announce(sync->store, id, from, (uint64_t)json_integer_value(len), sha);
            if (err == 1)
                err = 0;
            if (err == JS_ERR_INVALID) {
                /* An entry this client cannot hold (too long, bad id): skip
                 * it rather than stop the whole inbox behind it. */
                sync->stats.failed++;
                emit(sync, JN_SYNC_FAILED, id, NULL, 0, (uint64_t)json_integer_value(len), err);
                err = 0;
            }
            if (err == JS_ERR_QUOTA) {
                /* No room until something is played: leave the rest listed
                 * on the relay and fetch what is already announced. */
                sync->stats.failed++;
                emit(sync, JN_SYNC_FAILED, id, NULL, 0, (uint64_t)json_integer_value(len), err);
                full = true;
                err = 0;
                break;
            }
            if (err)
                break;
            if (json_integer_value(c) > reached)
                reached = json_integer_value(c);
        }
        if (!err && !full && json_integer_value(next) > reached)
            reached = json_integer_value(next);
        if (reached > cursor) {
            int serr = set_cursor(sync, JS_SETTING_INBOX_CURSOR, reached);
            err = err ? err : serr;
            cursor = reached;
        }
        json_decref(answer);
        if (err || full || count < 100)
            return err;
        wait_s = 0; /* a full page: more are waiting */
    }
}

/* ---- downloads -------------------------------------------------------------- */

struct download_ctx {
    jn_sync *sync;
    const struct js_message *m;
    unsigned char *buf;
};

static int dl_write(void *user, uint64_t at, const unsigned char *bytes, size_t len)
{
    struct download_ctx *c = user;

    return js_inbox_write(c->sync->store, c->m->id, at, bytes, len);
}

static int dl_truncate(void *user)
{
    struct download_ctx *c = user;
    int err;

    /* The store drops the bytes of a message that fails its own SHA-256
     * check and sends it back to announced(0): that is the truncation. */
    err = js_inbox_complete(c->sync->store, c->m->id);
    if (err == 0)
        return JN_ERR_PROTOCOL; /* the store liked what the ETag did not */
    c->sync->stats.rejected++;
    emit(c->sync, JN_SYNC_REJECTED, c->m->id, NULL, 0, c->m->length, err);
    return err == JS_ERR_CHECKSUM || (err <= JC_ERR_WAV_FORMAT && err > -2000) ? 0 : err;
}

static int dl_read_all(void *user, const unsigned char **bytes, size_t *len)
{
    struct download_ctx *c = user;
    size_t at = 0, got;
    int err;

    free(c->buf);
    c->buf = malloc((size_t)c->m->length);
    if (!c->buf)
        return -ENOMEM;
    while (at < c->m->length) {
        err = js_message_read(c->sync->store, c->m->id, at, c->buf + at, (size_t)c->m->length - at,
                              &got);
        if (err)
            return err;
        if (got == 0)
            break;
        at += got;
    }
    *bytes = c->buf;
    *len = at;
    return 0;
}

static void dl_progress(void *user, uint64_t done, uint64_t total)
{
    struct download_ctx *c = user;

    emit(c->sync, JN_SYNC_DOWNLOAD_PROGRESS, c->m->id, NULL, done, c->m->length, 0);
}

/* Opens a sealed note for the store (js_inbox_complete_opened()). */
static int open_note(void *user, const unsigned char *sealed, size_t len, unsigned char **note,
                     size_t *note_len)
{
    const struct download_ctx *c = user;
    jn_sync *sync = c->sync;
    struct je_open_params op = {.roster = sync->roster, .self = &sync->self};
    struct je_open_info info;
    char sender[33];
    int err;

    if (!je_is_sealed(sealed, len))
        return JE_ERR_NOT_ENCRYPTED;
    memcpy(op.self_device_id, sync->self_id, JE_ID_BYTES);
    if (je_id_parse(c->m->id, op.expect_message_id))
        return JE_ERR_REPLAYED;
    err = je_open(&op, sealed, len, note, note_len, &info);
    if (err)
        return err;
    je_id_hex(info.sender_device_id, sender);
    if (strcmp(sender, c->m->peer)) {
        /* The relay names another sender than the one who signed. */
        sodium_memzero(*note, *note_len);
        free(*note);
        *note = NULL;
        return JE_ERR_REPLAYED;
    }
    return 0;
}

/* Downloads of a message whose bytes are not its voice note before it is
 * refused, and 404/410 answers before it is dropped (net/PROTOCOL.md,
 * "Receipts"). */
#define JN_MAX_BAD_FETCHES  3
#define JN_MAX_GONE_FETCHES 2

static int download_one(jn_sync *sync, const struct js_message *m)
{
    struct download_ctx c = {sync, m, NULL};
    char path[96];
    struct jn_download d = {
        .path = path,
        .max_len = m->length,
        .offset = m->offset,
        .write = dl_write,
        .truncate = dl_truncate,
        .read_all = dl_read_all,
        .progress = dl_progress,
        .user = &c,
    };
    int err;

    if (sync->encrypted) {
        char what;
        int reason;
        if (je_vault_inbox_status(sync->store, m->id, &what, &reason) == 0 && what == 'R')
            return 0; /* refused before: never fetched again */
    }
    snprintf(path, sizeof(path), "/v1/messages/%s", m->id);
    emit(sync, JN_SYNC_DOWNLOAD_START, m->id, NULL, m->offset, m->length, 0);
    set_traffic_id(sync, m->id);
    err = jn_download_run(sync->http, &d);
    set_traffic_id(sync, NULL);
    sync->stats.interruptions += d.interruptions;
    if (!err && strcmp(d.sha256, m->sha256) != 0)
        err = JN_ERR_PROTOCOL; /* the relay announced one note and served another */
    if (!err && sync->encrypted) {
        err = js_inbox_complete_opened(sync->store, m->id, open_note, &c);
        if (e2e_error(err)) {
            /* Refused for good, with its reason: nothing of it is kept,
             * no receipt goes out, and it is not fetched again. */
            je_vault_inbox_mark(sync->store, m->id, 'R', err);
            sync->stats.rejected++;
            emit(sync, JN_SYNC_REFUSED, m->id, NULL, 0, m->length, err);
            free(c.buf);
            return 0;
        }
        if (!err)
            je_vault_inbox_mark(sync->store, m->id, 'E', 0);
    } else if (!err) {
        err = js_inbox_complete(sync->store, m->id);
    }
    if (err == JS_ERR_CHECKSUM || (err <= JC_ERR_WAV_FORMAT && err > -2000) ||
        err == JN_ERR_PROTOCOL) {
        /* Dropped by the store and fetched again next time, but only
         * JN_MAX_BAD_FETCHES times in all: bytes that are not the voice
         * note announced (a broken sender or a hostile relay) would
         * otherwise come down at every sync for ever. Then refused. */
        sync->stats.rejected++;
        if (js_inbox_fetch_failed(sync->store, m->id, JS_FETCH_BAD_BYTES, JN_MAX_BAD_FETCHES) ==
            1) {
            emit(sync, JN_SYNC_REFUSED, m->id, NULL, 0, m->length, err);
            free(c.buf);
            return 0;
        }
        emit(sync, JN_SYNC_REJECTED, m->id, NULL, 0, m->length, err);
        err = JN_ERR_INVALID_AUDIO;
    } else if (err == JN_ERR_NOT_FOUND || err == JN_ERR_GONE) {
        /* The relay no longer has it (expired, or never had it): dropped
         * after the second such answer, so it neither stays "announced"
         * for ever nor holds quota. */
        js_inbox_fetch_failed(sync->store, m->id, JS_FETCH_GONE, JN_MAX_GONE_FETCHES);
    }
    if (!err) {
        sync->stats.downloaded++;
        emit_done(sync, JN_SYNC_DOWNLOAD_DONE, m, d.interruptions);
    }
    free(c.buf);
    return err;
}

static int step_downloads(jn_sync *sync)
{
    struct message_list list = {0};
    size_t i;
    int err;

    err = js_messages_list(sync->store, JS_INBOX, JS_ANNOUNCED | JS_DOWNLOADING, collect, &list);
    for (i = 0; err >= 0 && i < list.count; i++) {
        const char *why = postpone_reason(sync, &list.items[i]);
        if (why) {
            /* Left announced: a later pass (next month, after quiet hours)
             * or the person playing it by hand fetches it. */
            sync->postpone_why = why;
            sync->postponed++;
            sync->postponed_bytes += list.items[i].length;
            continue;
        }
        err = download_one(sync, &list.items[i]);
        if (err && (!stops_the_pass(err) || err == JN_ERR_INVALID_AUDIO || err == JN_ERR_PROTOCOL ||
                    err == JS_ERR_QUOTA)) {
            sync->stats.failed++;
            emit(sync, JN_SYNC_FAILED, list.items[i].id, NULL, 0, list.items[i].length, err);
            err = 0;
        }
    }
    free(list.items);
    return err < 0 ? err : 0;
}

/* ---- receipts in ------------------------------------------------------------ */

/* Whether a receipt lacks a proof that verifies under the key of the
 * member who is said to have sent it (docs/encryption.md, "Receipts"). */
static bool receipt_refused(jn_sync *sync, json_t *r, const char *id, enum js_state state)
{
    const char *device = string_field(r, "device_id", 64), *proof = string_field(r, "proof", 128);
    uint8_t dev[JE_ID_BYTES], mid[JE_ID_BYTES], sig[JE_SIG_BYTES];
    const struct je_member *mb;
    size_t n;

    if (!device || !proof || je_id_parse(device, dev) || je_id_parse(id, mid) ||
        sodium_base642bin(sig, sizeof(sig), proof, strlen(proof), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != sizeof(sig) || !(mb = je_roster_find(sync->roster, dev)))
        return true;
    return je_receipt_verify(mb->sign_pk, mid, sync->roster->family_id, dev,
                             state == JS_PLAYED ? JE_RECEIPT_PLAYED : JE_RECEIPT_DELIVERED,
                             sig) != 0;
}

static int step_receipts_in(jn_sync *sync)
{
    int64_t cursor = get_cursor(sync, JS_SETTING_RECEIPT_CURSOR);
    int err = 0;

    for (;;) {
        char path[96];
        json_t *answer = NULL, *receipts, *r, *next;
        size_t i, count;
        int64_t reached = cursor;

        if (sync->receipts_page) {
            answer = sync->receipts_page; /* what the inbox answer carried */
            sync->receipts_page = NULL;
        } else {
            snprintf(path, sizeof(path), "/v1/receipts?after=%" PRId64, cursor);
            err = jn_json_call(sync->http, "GET", path, NULL, 0, 0, &answer);
            if (!err && !answer)
                err = JN_ERR_PROTOCOL;
            if (err)
                return err;
        }
        receipts = json_object_get(answer, "receipts");
        next = json_object_get(answer, "cursor");
        if (!json_is_array(receipts) || !json_is_integer(next)) {
            json_decref(answer);
            return JN_ERR_PROTOCOL;
        }
        count = json_array_size(receipts);
        json_array_foreach(receipts, i, r)
        {
            const char *id = string_field(r, "message_id", JS_ID_LEN);
            const char *state = string_field(r, "state", 16);
            json_t *c = json_object_get(r, "cursor");
            enum js_state s;

            if (!id || !state || !json_is_integer(c)) {
                err = JN_ERR_PROTOCOL;
                break;
            }
            if (!strcmp(state, "rejected")) {
                /* The recipient will never play it: nothing to mark here
                 * (the note stays "sent"); the relay drops it. */
                if (json_integer_value(c) > reached)
                    reached = json_integer_value(c);
                continue;
            }
            s = !strcmp(state, "played") ? JS_PLAYED : JS_DELIVERED;
            if (sync->encrypted && receipt_refused(sync, r, id, s)) {
                emit(sync, JN_SYNC_RECEIPT_REFUSED, id, state, 0, 0, JE_ERR_RECEIPT);
                if (json_integer_value(c) > reached)
                    reached = json_integer_value(c);
                continue;
            }
            err = js_outbox_mark(sync->store, id, s);
            if (err && err != JS_ERR_NOT_FOUND)
                break; /* JS_ERR_STATE: its upload is not settled; next pass */
            if (!err) {
                sync->stats.receipts_received++;
                emit(sync, JN_SYNC_RECEIPT_RECEIVED, id, s == JS_PLAYED ? "played" : "delivered", 0,
                     0, 0);
            }
            err = 0; /* JS_ERR_NOT_FOUND: no message of this store (deleted here) */
            if (json_integer_value(c) > reached)
                reached = json_integer_value(c);
        }
        if (!err && json_integer_value(next) > reached)
            reached = json_integer_value(next);
        if (reached > cursor) {
            int serr = set_cursor(sync, JS_SETTING_RECEIPT_CURSOR, reached);
            if (!err)
                err = serr;
            cursor = reached;
        }
        json_decref(answer);
        if (err == JS_ERR_STATE)
            return 0;
        if (err || count < 100)
            return err;
    }
}

/* ---- passes ----------------------------------------------------------------- */

static int run_pass(jn_sync *sync, unsigned wait_s, struct jn_sync_stats *stats)
{
    uint64_t sent0, recv0, sent1, recv1;
    int err;

    memset(&sync->stats, 0, sizeof(sync->stats));
    sync->members_fresh = false;
    unsigned conn0 = jn_http_connections(sync->http);

    jn_http_counters(sync->http, &sent0, &recv0);
    read_limits(sync);
    sync->postpone_why = NULL;
    sync->postponed = 0;
    sync->postponed_bytes = 0;
    err = e2e_prepare(sync);
    if (!err)
        err = step_uploads(sync);
    if (!err)
        err = step_receipts_out(sync);
    if (!err)
        err = step_inbox(sync, wait_s);
    if (!err)
        err = step_downloads(sync);
    if (!err && sync->postponed)
        emit(sync, JN_SYNC_POSTPONED, NULL, sync->postpone_why, sync->postponed,
             sync->postponed_bytes, 0);
    if (!err)
        err = step_receipts_out(sync); /* the "delivered" of what just arrived */
    if (!err)
        err = step_receipts_in(sync);
    json_decref(sync->receipts_page); /* not taken: the pass ended early */
    sync->receipts_page = NULL;
    jn_http_counters(sync->http, &sent1, &recv1);
    sync->stats.bytes_sent = sent1 - sent0;
    sync->stats.bytes_received = recv1 - recv0;
    sync->stats.connections = jn_http_connections(sync->http) - conn0;
    if (stats) {
        stats->uploaded += sync->stats.uploaded;
        stats->downloaded += sync->stats.downloaded;
        stats->rejected += sync->stats.rejected;
        stats->receipts_sent += sync->stats.receipts_sent;
        stats->receipts_received += sync->stats.receipts_received;
        stats->failed += sync->stats.failed;
        stats->bytes_sent += sync->stats.bytes_sent;
        stats->bytes_received += sync->stats.bytes_received;
        stats->bytes_resent += sync->stats.bytes_resent;
        stats->interruptions += sync->stats.interruptions;
        stats->connections += sync->stats.connections;
        if (sync->stats.largest_chunk > stats->largest_chunk)
            stats->largest_chunk = sync->stats.largest_chunk;
    }
    return err;
}

int jn_sync_fetch(jn_sync *sync, const char *id)
{
    struct js_message m;
    int err = js_message_get(sync->store, id, &m);

    if (!err && m.box != JS_INBOX)
        err = JS_ERR_NOT_FOUND;
    if (err || !(m.state & (JS_ANNOUNCED | JS_DOWNLOADING)))
        return err;
    if (sync->deadline_s)
        jn_http_set_deadline(sync->http, ju_mono_ms() + (int64_t)sync->deadline_s * 1000);
    read_limits(sync);
    err = e2e_prepare(sync);
    if (!err)
        err = roster_refresh(sync); /* its sender may have joined since */
    if (!err)
        err = download_one(sync, &m);
    jn_http_set_deadline(sync->http, 0);
    return err;
}

const char *jn_sync_last_error(const jn_sync *sync)
{
    return jn_http_last_error(sync->http);
}

int jn_sync_run(jn_sync *sync, struct jn_sync_stats *stats)
{
    if (sync->deadline_s)
        jn_http_set_deadline(sync->http, ju_mono_ms() + (int64_t)sync->deadline_s * 1000);
    int err = run_pass(sync, 0, stats);
    jn_http_set_deadline(sync->http, 0);
    return err;
}

/* An inotify descriptor on the store's wake file (store.h, JS_WAKE_FILE):
 * readable when another process recorded, released or played something.
 * -1 when it cannot be had; the watch then learns of local news at the end
 * of its long poll, as before. */
static int open_wake_watch(jn_sync *sync)
{
    char path[PATH_MAX];
    int fd, file;

    if (js_store_wake_path(sync->store, path, sizeof(path)) < 0)
        return -1;
    file = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (file < 0)
        return -1;
    close(file);
    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return -1;
    if (inotify_add_watch(fd, path, IN_CLOSE_WRITE) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void drain(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
        ;
}

int jn_sync_watch(jn_sync *sync, unsigned wait_s)
{
    struct jn_backoff backoff;
    unsigned wait = 0;
    int wake_fd, err;

    if (!wait_s)
        wait_s = 60;
    jn_backoff_init(&backoff, 0, 0);
    /* Local news (kernel-waited) and the relay's long poll are waited on in
     * the same poll(): the long poll's request is abandoned when the wake
     * file is written, and the pass starts again at once. */
    wake_fd = open_wake_watch(sync);
    jn_http_set_wake_fd(sync->http, wake_fd);
    for (;;) {
        if (wait)
            emit(sync, JN_SYNC_WAITING, NULL, NULL, 0, 0, 0);
        /* Drained before the pass: news during the pass ends its wait. */
        drain(wake_fd);
        js_store_recover(sync->store);
        err = run_pass(sync, wait, NULL);
        if (!err || err == -EINTR) {
            jn_backoff_reset(&backoff);
            wait = wait_s;
            continue;
        }
        /* Network trouble, a garbled answer or another program holding the
         * store are waited out; anything else needs a person. */
        if (!jn_error_is_transient(err) && err != JN_ERR_GAVE_UP && err != JN_ERR_PROTOCOL &&
            err != JS_ERR_BUSY)
            break;
        {
            unsigned ms = jn_backoff_next_ms(&backoff, -1);
            struct pollfd pfd = {.fd = wake_fd, .events = POLLIN};
            emit(sync, JN_SYNC_RETRY, NULL, NULL, ms, 0, err);
            /* Local news cuts the wait short: a new note is worth a try. */
            if (wake_fd < 0)
                ju_sleep_ms(ms);
            else
                poll(&pfd, 1, (int)ms);
        }
        wait = 0;
    }
    jn_http_set_wake_fd(sync->http, -1);
    if (wake_fd >= 0)
        close(wake_fd);
    return err;
}

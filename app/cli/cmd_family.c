/*
 * setup, family and sync: the commands that talk to the relay.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "net/e2e/e2e.h"
#include "output.h"
#include "net/sync/sync.h"
#include "util/util.h"

static int open_store(const struct app_context *ctx, js_store **store)
{
    int err = js_store_open(ctx->home, store);

    if (err < 0)
        return app_fail("cannot open the message store in %s: %s", ctx->home, app_strerror(err));
    return 0;
}

/* The relay connection from the settings; with_token adds the device token. */
static int open_relay(js_store *store, bool with_token, jn_http **http)
{
    char url[JS_SETTING_MAX + 1], token[JS_SETTING_MAX + 1], ca[JS_SETTING_MAX + 1];
    struct jn_http_config hc = {0};

    if (js_setting_get(store, JS_SETTING_RELAY_URL, url, sizeof(url)) < 0)
        return JN_ERR_NOT_SET_UP;
    hc.base_url = url;
    if (with_token) {
        if (js_setting_get(store, JS_SETTING_DEVICE_TOKEN, token, sizeof(token)) < 0)
            return JN_ERR_NOT_SET_UP;
        hc.token = token;
    }
    if (js_setting_get(store, JS_SETTING_CA_FILE, ca, sizeof(ca)) > 0)
        hc.ca_file = ca;
    return jn_http_create(&hc, http);
}

static int relay_fail(const char *what, int err, jn_http *http)
{
    const char *detail = http ? jn_http_last_error(http) : "";
    char safe[OUT_TEXT_SIZE(512)]; /* the relay's own words: any bytes */

    if (detail[0])
        return app_fail("%s: %s (%s)", what, app_strerror(err),
                        out_text(detail, safe, sizeof(safe)));
    return app_fail("%s: %s", what, app_strerror(err));
}

int cmd_setup(const struct app_context *ctx, int argc, char **argv)
{
    const char *relay = NULL, *name = NULL;
    struct jn_http_config hc = {0};
    js_store *store;
    jn_http *http;
    int i, err;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--relay") && i + 1 < argc)
            relay = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else
            return app_usage("setup: unexpected argument '%s'", argv[i]);
    }
    if (!relay && !name)
        return app_usage("setup needs --relay URL and/or --name NAME");
    if (relay) {
        hc.base_url = relay;
        err = jn_http_create(&hc, &http);
        if (err)
            return app_fail("setup: %s: %s", relay, app_strerror(err));
        jn_http_destroy(http);
    }
    if (name && (!name[0] || strlen(name) > 64))
        return app_fail("setup: a name is 1 to 64 bytes");
    if (open_store(ctx, &store))
        return 1;
    err = 0;
    if (relay && !(err = js_setting_set(store, JS_SETTING_RELAY_URL, relay)))
        err = js_setting_set(store, JS_SETTING_RELAY_MAX_UPLOAD, NULL); /* another relay's */
    if (!err && relay && jn_http_create(&hc, &http) == 0) {
        /* The relay's upload limit, for `record`; a relay not reachable
         * yet is learned at the first sync. */
        jn_learn_relay_limit(http, store);
        jn_http_destroy(http);
    }
    if (!err && name)
        err = js_setting_set(store, JS_SETTING_DEVICE_NAME, name);
    js_store_destroy(store);
    if (err)
        return app_fail("setup: %s", app_strerror(err));
    return 0;
}

static int save_identity(js_store *store, const struct jn_family_identity *id, const char *name)
{
    int err;

    err = js_setting_set(store, JS_SETTING_FAMILY_ID, id->family_id);
    if (!err)
        err = js_setting_set(store, JS_SETTING_DEVICE_ID, id->device_id);
    if (!err)
        err = js_setting_set(store, JS_SETTING_DEVICE_TOKEN, id->token);
    if (!err)
        err = js_contact_put(store, id->device_id, name);
    return err;
}

struct member_print {
    js_store *store;
    char self[JS_PEER_MAX + 1];
    bool print;
    json_t *array; /* family --json: the members, printed at the end */
};

static int on_member(void *user, const char *device_id, const char *name)
{
    struct member_print *mp = user;
    int err = js_contact_put(mp->store, device_id, name);

    if (!err && mp->array) {
        json_t *o =
            json_pack("{s:o, s:o, s:b}", "name", out_json_text(name), "device_id",
                      out_json_text(device_id), "this_device", !strcmp(device_id, mp->self));
        if (!o || json_array_append_new(mp->array, o))
            err = -ENOMEM;
    } else if (!err && mp->print) {
        char safe_name[OUT_TEXT_SIZE(JS_PEER_MAX)], safe_id[OUT_TEXT_SIZE(JS_PEER_MAX)];
        printf("%s\t%s%s\n", out_text(name, safe_name, sizeof(safe_name)),
               out_text(device_id, safe_id, sizeof(safe_id)),
               strcmp(device_id, mp->self) ? "" : "\t(this device)");
    }
    return err;
}

static int family_join(js_store *store, jn_http *http, const char *code, const char *name)
{
    struct jn_family_identity id;
    struct member_print mp = {store, "", false, NULL};
    int err;

    err = jn_family_join(http, code, name, &id);
    if (err)
        return err;
    err = save_identity(store, &id, name);
    if (err)
        return err;
    /* Learn the others now, so a first recording can be addressed by name. */
    err = jn_http_set_token(http, id.token);
    if (!err && jn_family_members(http, on_member, &mp) < 0)
        err = 0; /* the next sync fetches them */
    return err;
}

/* Prints the members of the roster this device holds (encrypted family). */
static int print_roster(js_store *store)
{
    struct je_roster *r = malloc(sizeof(*r));
    uint8_t self[JE_ID_BYTES];
    char self_hex[JS_SETTING_MAX + 1] = "";
    int err = r ? je_vault_roster(store, r, NULL, NULL) : -ENOMEM;

    js_setting_get(store, JS_SETTING_DEVICE_ID, self_hex, sizeof(self_hex));
    if (!err && je_id_parse(self_hex, self))
        memset(self, 0, sizeof(self));
    for (unsigned i = 0; !err && i < r->count; i++) {
        char hex[33], name[OUT_TEXT_SIZE(sizeof(r->members[i].name))];
        je_id_hex(r->members[i].device_id, hex);
        printf("%s\t%s%s\n", out_text(r->members[i].name, name, sizeof(name)), hex,
               memcmp(r->members[i].device_id, self, JE_ID_BYTES) ? "" : "\t(this device)");
    }
    free(r);
    return err;
}

/* Joins by pairing code: claims the pairing and answers it, then waits up
 * to wait_s seconds for the inviting phone to confirm (a later sync
 * finishes it otherwise). */
static int pair_join(const struct app_context *ctx, js_store *store, jn_http *http,
                     const char *code, const char *name, unsigned wait_s)
{
    int err = jn_e2e_join(http, store, code, name);

    if (err == JN_ERR_NOT_FOUND)
        return app_fail("family join: no such code on the relay (wrong code, or it expired);"
                        " ask for a new one");
    if (err == JN_ERR_CONFLICT)
        return app_fail("family join: this code was used already; ask for a new one");
    if (err)
        return relay_fail("family join", err, http);
    for (unsigned waited = 0;; waited++) {
        err = jn_e2e_join_finish(http, store);
        if (err != JE_ERR_PENDING || waited >= wait_s)
            break;
        ju_sleep_ms(1000);
    }
    if (err == JE_ERR_PENDING) {
        printf("waiting for the inviting phone to confirm; 'jiashu sync' finishes the pairing\n");
        return 0;
    }
    if (err)
        return relay_fail("family join", err, http);
    printf("joined; end-to-end encrypted\n");
    (void)ctx;
    return 0;
}

int cmd_family(const struct app_context *ctx, int argc, char **argv)
{
    char name[JS_SETTING_MAX + 1], code[32], token[8];
    const char *verb = argc > 1 ? argv[1] : "list";
    bool json = false;
    struct jn_family_identity id;
    js_store *store;
    jn_http *http = NULL;
    bool joined, plain = false;
    unsigned wait_s = 0;
    int err, status = 0;

    if (!strcmp(verb, "--json") ||
        (!strcmp(verb, "list") && argc == 3 && !strcmp(argv[2], "--json"))) {
        verb = "list";
        json = true;
        argc = 1;
    }
    if (strcmp(verb, "create") && strcmp(verb, "invite") && strcmp(verb, "join") &&
        strcmp(verb, "list") && strcmp(verb, "remove") && strcmp(verb, "upgrade"))
        return app_usage("family: unknown word '%s'", verb);
    if (!strcmp(verb, "join")) {
        const char *c = NULL;
        for (int i = 2; i < argc; i++) {
            uint64_t v;
            if (!strcmp(argv[i], "--plain"))
                plain = true;
            else if (!strcmp(argv[i], "--wait") && i + 1 < argc &&
                     ju_parse_u64(argv[i + 1], 3600, &v) == 0)
                wait_s = (unsigned)v, i++;
            else if (!c)
                c = argv[i];
            else
                return app_usage("family join: unexpected argument '%s'", argv[i]);
        }
        if (!c || strspn(c, "0123456789") != strlen(c) || !c[0] || strlen(c) > 24)
            return app_usage("family join needs the invite code (digits)");
        argv[2] = (char *)c;
        if (!plain && strlen(c) != JE_CODE_DIGITS)
            return app_usage("family join: a pairing code has %d digits", JE_CODE_DIGITS);
    } else if (!strcmp(verb, "remove")) {
        if (argc != 3)
            return app_usage("family remove needs the member's name (or device id)");
    } else if (argc > 2) {
        return app_usage("family %s takes no argument", verb);
    }
    if (je_init() < 0)
        return app_fail("family: %s", app_strerror(JE_ERR_CRYPTO));
    if (open_store(ctx, &store))
        return 1;
    joined =
        js_setting_get(store, JS_SETTING_DEVICE_TOKEN, token, sizeof(token)) != JS_ERR_NOT_FOUND;
    if (!strcmp(verb, "create") || !strcmp(verb, "join")) {
        /* A phone of a family from before encryption pairs again with a
         * code from the phone that upgraded it (docs/encryption.md). */
        bool repair = !strcmp(verb, "join") && !plain && joined && !je_vault_encrypted(store);
        if ((joined && !repair) || jn_e2e_join_pending(store)) {
            status = app_fail("family %s: this device is already in a family%s", verb,
                              joined ? "" : " (its pairing waits for the other phone; run sync)");
            goto out;
        }
        if (js_setting_get(store, JS_SETTING_DEVICE_NAME, name, sizeof(name)) < 0) {
            status = app_fail("family %s: no name yet: run 'jiashu setup --name NAME'", verb);
            goto out;
        }
    } else if (!joined && strcmp(verb, "list")) {
        status = app_fail("family %s: %s", verb, app_strerror(JN_ERR_NOT_SET_UP));
        goto out;
    }
    err = open_relay(store, joined, &http);
    if (err) {
        status = relay_fail("family", err, NULL);
        goto out;
    }
    if (!strcmp(verb, "create")) {
        /* A new family encrypts from the start: its roster is this device,
         * and the code printed is a pairing code (docs/encryption.md). */
        err = jn_family_create(http, name, &id);
        if (!err)
            err = save_identity(store, &id, name);
        if (!err)
            err = jn_http_set_token(http, id.token);
        if (!err)
            err = jn_e2e_found_family(http, store);
        if (!err)
            err = jn_e2e_invite(http, store, code);
        if (!err)
            printf("%s\n", code);
    } else if (!strcmp(verb, "join")) {
        if (plain)
            err = family_join(store, http, argv[2], name);
        else {
            status = pair_join(ctx, store, http, argv[2], name, wait_s);
            goto out;
        }
    } else if (!strcmp(verb, "invite")) {
        if (je_vault_encrypted(store)) {
            err = jn_e2e_invite(http, store, code);
        } else {
            /* A family from before encryption: the relay's invite code
             * (joined with --plain), until a member runs 'family upgrade'. */
            err = jn_family_invite(http, code, sizeof(code));
            if (!err)
                fprintf(stderr, "jiashu: this family is not encrypted yet; 'jiashu family upgrade'"
                                " on one phone encrypts it\n");
        }
        if (!err)
            printf("%s\n", code);
    } else if (!strcmp(verb, "upgrade")) {
        if (je_vault_encrypted(store)) {
            status = app_fail("family upgrade: this family is encrypted already");
            goto out;
        }
        err = jn_e2e_found_family(http, store);
        if (err == JN_ERR_CONFLICT) {
            status = app_fail("family upgrade: another phone upgraded this family already; join"
                              " it again with a code from that phone");
            goto out;
        }
        if (!err)
            err = jn_e2e_invite(http, store, code);
        if (!err)
            printf("%s\n", code);
        if (!err)
            fprintf(stderr,
                    "jiashu: encrypted; every other phone joins again with a code"
                    " like this one ('jiashu family join CODE'); old notes stay playable\n");
    } else if (!strcmp(verb, "remove")) {
        char removed[JE_NAME_MAX + 1];
        bool revoked;
        if (!je_vault_encrypted(store)) {
            status = app_fail("family remove: %s", app_strerror(JE_ERR_NO_KEYS));
            goto out;
        }
        err = jn_e2e_remove(http, store, argv[2], removed, sizeof(removed), &revoked);
        if (err == JS_ERR_NOT_FOUND) {
            status = app_fail("family remove: no member named '%s'", argv[2]);
            goto out;
        }
        if (err == JS_ERR_INVALID) {
            status = app_fail("family remove: a phone does not remove itself; remove it from"
                              " another member's phone");
            goto out;
        }
        if (!err)
            printf("removed %s: notes sent from now on are not encrypted for it%s\n", removed,
                   revoked ? ""
                           : " (the relay keeps its token until the family's first phone"
                             " removes it too)");
    } else {
        if (je_vault_encrypted(store) && !json) {
            if (http && joined)
                jn_e2e_roster_refresh(http, store);
            err = print_roster(store);
        } else {
            struct member_print mp = {store, "", true, json ? json_array() : NULL};
            js_setting_get(store, JS_SETTING_DEVICE_ID, mp.self, sizeof(mp.self));
            err = json && !mp.array ? -ENOMEM : jn_family_members(http, on_member, &mp);
            err = err < 0 ? err : 0;
            if (!err && json) {
                err = out_json_document(mp.array);
                mp.array = NULL;
            }
            json_decref(mp.array);
        }
    }
    if (err) {
        char what[32];
        snprintf(what, sizeof(what), "family%s%s", strcmp(verb, "list") ? " " : "",
                 strcmp(verb, "list") ? verb : "");
        status = relay_fail(what, err, http);
    }
out:
    jn_http_destroy(http);
    js_store_destroy(store);
    return status;
}

/* ---- sync: progress on a terminal, plain lines, or JSON events ----------- */

struct progress {
    unsigned postponed_shown; /* the last postponed count printed, so a watch says it once */
    bool tty;
    bool json;
    double start;
    double last_draw;
    uint64_t first;
    bool drawn;
};

/* One event as docs/schema/sync-event.schema.json says; keys in this order. */
static void json_event(const char *event, const struct jn_sync_event *ev, double rate)
{
    json_t *o = json_object();
    int bad = !o || json_object_set_new(o, "event", json_string(event));

    if (!bad && ev->message_id)
        bad = json_object_set_new(o, "id", out_json_text(ev->message_id));
    if (!bad && ev->state)
        bad = json_object_set_new(o, "state", out_json_text(ev->state));
    if (!bad && ev->kind == JN_SYNC_RETRY) /* its "done" counts milliseconds */
        bad = json_object_set_new(o, "wait_ms", json_integer((json_int_t)ev->done));
    else if (!bad && (ev->total || ev->done))
        bad = json_object_set_new(o, "done", json_integer((json_int_t)ev->done)) ||
              json_object_set_new(o, "total", json_integer((json_int_t)ev->total));
    if (!bad && rate > 0)
        bad = json_object_set_new(o, "rate", json_integer((json_int_t)(rate + 0.5)));
    if (!bad && (ev->kind == JN_SYNC_UPLOAD_DONE || ev->kind == JN_SYNC_DOWNLOAD_DONE))
        bad = json_object_set_new(o, "interruptions", json_integer((json_int_t)ev->interruptions));
    if (!bad && ev->quiet)
        bad = json_object_set_new(o, "quiet", json_true());
    if (!bad)
        bad = json_object_set_new(o, "at_ms", json_integer((json_int_t)ju_wall_ms()));
    if (!bad && ev->err)
        bad = json_object_set_new(o, "error", out_json_text(ju_strerror(ev->err)));
    if (bad) {
        json_decref(o);
        o = NULL;
    }
    out_json_line(o);
}

static void draw_bar(struct progress *p, const struct jn_sync_event *ev, bool up, double rate)
{
    char bar[21];
    double frac = ev->total ? (double)ev->done / (double)ev->total : 0;
    int filled = (int)(frac * 20), i;
    long left = rate > 0 ? (long)((double)(ev->total - ev->done) / rate) : -1;

    for (i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    char id[OUT_TEXT_SIZE(8)], head[9];

    snprintf(head, sizeof(head), "%s", ev->message_id ? ev->message_id : "");
    printf("\r%s %s [%s] %6.1f/%.1f kB %6.1f kB/s ", up ? "send" : "recv",
           out_text(head, id, sizeof(id)), bar, (double)ev->done / 1000.0,
           (double)ev->total / 1000.0, rate / 1000.0);
    if (left >= 0)
        printf("%ld:%02ld left ", left / 60, left % 60);
    else
        printf("  -:-- left ");
    fflush(stdout);
    p->drawn = true;
}

static void on_sync_event(void *user, const struct jn_sync_event *ev)
{
    char id[OUT_TEXT_SIZE(JS_PEER_MAX)], state[OUT_TEXT_SIZE(16)];
    struct progress *p = user;
    double t = (double)ju_mono_ns() / 1e9, rate = 0;
    bool up = ev->kind <= JN_SYNC_UPLOAD_DONE;

    if (ev->kind == JN_SYNC_UPLOAD_START || ev->kind == JN_SYNC_DOWNLOAD_START) {
        p->start = t;
        p->first = ev->done;
        p->last_draw = 0;
    }
    if (t - p->start > 0.2 && ev->done > p->first)
        rate = (double)(ev->done - p->first) / (t - p->start);
    if (p->drawn && ev->kind != JN_SYNC_UPLOAD_PROGRESS && ev->kind != JN_SYNC_DOWNLOAD_PROGRESS) {
        printf("\n");
        p->drawn = false;
    }

    switch (ev->kind) {
    case JN_SYNC_UPLOAD_START:
    case JN_SYNC_DOWNLOAD_START:
        if (p->json)
            json_event(up ? "upload_start" : "download_start", ev, 0);
        else if (p->tty)
            draw_bar(p, ev, up, 0);
        break;
    case JN_SYNC_UPLOAD_PROGRESS:
    case JN_SYNC_DOWNLOAD_PROGRESS:
        if (t - p->last_draw < (p->tty ? 0.25 : 1.0))
            break;
        p->last_draw = t;
        if (p->json)
            json_event(up ? "upload_progress" : "download_progress", ev, rate);
        else if (p->tty)
            draw_bar(p, ev, up, rate);
        break;
    case JN_SYNC_UPLOAD_DONE:
    case JN_SYNC_DOWNLOAD_DONE:
        if (p->json)
            json_event(up ? "sent" : "received", ev, rate);
        else
            printf("%s %s (%llu bytes)\n", up ? "sent" : "received",
                   out_text(ev->message_id, id, sizeof(id)), (unsigned long long)ev->total);
        break;
    case JN_SYNC_REJECTED:
        if (p->json)
            json_event("rejected", ev, 0);
        else
            printf("rejected %s: %s; it will be fetched again\n",
                   out_text(ev->message_id, id, sizeof(id)), ju_strerror(ev->err));
        break;
    case JN_SYNC_RECEIPT_SENT:
    case JN_SYNC_RECEIPT_RECEIVED:
        if (p->json)
            json_event(ev->kind == JN_SYNC_RECEIPT_SENT ? "receipt_sent" : "receipt", ev, 0);
        else if (ev->kind == JN_SYNC_RECEIPT_RECEIVED)
            printf("%s %s\n", out_text(ev->state, state, sizeof(state)),
                   out_text(ev->message_id, id, sizeof(id)));
        break;
    case JN_SYNC_FAILED:
        if (p->json)
            json_event("failed", ev, 0);
        else
            printf("not moved %s: %s\n", out_text(ev->message_id, id, sizeof(id)),
                   ju_strerror(ev->err));
        break;
    case JN_SYNC_RETRY:
        if (p->json)
            json_event("retry", ev, 0);
        else
            printf("network trouble (%s); trying again in %.1f s\n", ju_strerror(ev->err),
                   (double)ev->done / 1000.0);
        break;
    case JN_SYNC_WAITING:
        if (p->json)
            json_event("waiting", ev, 0);
        break;
    case JN_SYNC_PAIRED:
        if (p->json)
            json_event("paired", ev, 0);
        else
            printf("paired: %s joined the family\n",
                   ev->state ? out_text(ev->state, id, sizeof(id)) : "a phone");
        break;
    case JN_SYNC_PAIRING_FAILED:
        if (p->json)
            json_event("pairing_failed", ev, 0);
        else
            printf("%s\n", ju_strerror(ev->err));
        break;
    case JN_SYNC_REFUSED:
        if (p->json)
            json_event("refused", ev, 0);
        else
            printf("refused %s: %s; it will not be played\n",
                   out_text(ev->message_id, id, sizeof(id)), ju_strerror(ev->err));
        break;
    case JN_SYNC_POSTPONED:
        if (p->json) {
            json_event("postponed", ev, 0);
        } else if (ev->done != p->postponed_shown) {
            /* One line, and a watch repeats it only when it changes. */
            if (!strcmp(ev->state, "quiet hours"))
                printf(_("quiet hours: %llu note%s (%.1f kB) will be fetched when they end, or "
                         "when played by hand\n"),
                       (unsigned long long)ev->done, ev->done == 1 ? "" : "s",
                       (double)ev->total / 1000.0);
            else
                printf(_("this month's data budget is used: %llu note%s (%.1f kB) will be fetched "
                         "next month, or when played by hand\n"),
                       (unsigned long long)ev->done, ev->done == 1 ? "" : "s",
                       (double)ev->total / 1000.0);
        }
        p->postponed_shown = (unsigned)ev->done;
        break;
    case JN_SYNC_RECEIPT_REFUSED:
        if (p->json)
            json_event("receipt_refused", ev, 0);
        else
            printf("ignored a '%s' receipt for %s: %s\n", out_text(ev->state, state, sizeof(state)),
                   out_text(ev->message_id, id, sizeof(id)), ju_strerror(ev->err));
        break;
    }
    fflush(stdout);
}

int cmd_sync(const struct app_context *ctx, int argc, char **argv)
{
    struct progress p = {0};
    /* A one-shot sync ends, whatever the relay does; --watch keeps going. */
    struct jn_sync_config config = {.on_event = on_sync_event, .user = &p, .deadline_s = 180};
    struct jn_sync_stats stats = {0};
    bool watch = false;
    unsigned wait_s = 0;
    js_store *store;
    jn_sync *sync;
    int i, err, status = 0;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--watch"))
            watch = true;
        else if (!strcmp(argv[i], "--json"))
            p.json = true;
        else if (!strcmp(argv[i], "--wait") && i + 1 < argc) {
            uint64_t v;
            if (ju_parse_u64(argv[++i], 86400, &v) < 0)
                return app_usage("sync: --wait wants whole seconds up to 86400, not '%s'", argv[i]);
            wait_s = (unsigned)v;
        } else if (!strcmp(argv[i], "--deadline") && i + 1 < argc) {
            uint64_t v;
            if (ju_parse_u64(argv[++i], 86400, &v) < 0 || v == 0)
                return app_usage("sync: --deadline wants whole seconds, 1 to 86400, not '%s'",
                                 argv[i]);
            config.deadline_s = (unsigned)v;
        } else
            return app_usage("sync: unexpected argument '%s'", argv[i]);
    }
    p.tty = !p.json && isatty(STDOUT_FILENO);
    if (je_init() < 0)
        return app_fail("sync: %s", app_strerror(JE_ERR_CRYPTO));
    if (open_store(ctx, &store))
        return 1;
    if (jn_e2e_join_pending(store)) {
        /* A pairing this device answered: finish it (or keep waiting). */
        jn_http *http = NULL;
        err = open_relay(store, false, &http);
        for (unsigned waited = 0; !err;) {
            err = jn_e2e_join_finish(http, store);
            if (err != JE_ERR_PENDING || !watch)
                break;
            ju_sleep_ms(waited++ < 30 ? 2000 : 15000);
        }
        if (err && err != JE_ERR_PENDING) {
            status = relay_fail("sync: pairing", err, http);
            jn_http_destroy(http);
            js_store_destroy(store);
            return status;
        }
        jn_http_destroy(http);
        if (err == JE_ERR_PENDING) {
            if (p.json)
                out_json_line(json_pack("{s:s}", "event", "pairing_waiting"));
            else
                printf("waiting for the inviting phone to confirm the pairing\n");
            js_store_destroy(store);
            return 0;
        }
        if (!p.json)
            printf("joined; end-to-end encrypted\n");
    }
    config.store = store;
    config.clock_offset_ms = ctx->clock_offset_ms;
    err = jn_sync_create(&config, &sync);
    if (err) {
        js_store_destroy(store);
        return app_fail("sync: %s", app_strerror(err));
    }
    if (!je_vault_encrypted(store) && !p.json)
        fprintf(stderr, "jiashu: this family is not end-to-end encrypted yet; 'jiashu family"
                        " upgrade' on one phone encrypts it\n");
    if (watch)
        err = jn_sync_watch(sync, wait_s);
    else
        err = jn_sync_run(sync, &stats);
    if (p.drawn)
        printf("\n");
    if (!err && p.json)
        out_json_line(json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "event", "done",
            "sent", (json_int_t)stats.uploaded, "received", (json_int_t)stats.downloaded,
            "rejected", (json_int_t)stats.rejected, "receipts_sent",
            (json_int_t)stats.receipts_sent, "receipts_received",
            (json_int_t)stats.receipts_received, "failed", (json_int_t)stats.failed, "bytes_sent",
            (json_int_t)stats.bytes_sent, "bytes_received", (json_int_t)stats.bytes_received,
            "bytes_resent", (json_int_t)stats.bytes_resent, "interruptions",
            (json_int_t)stats.interruptions, "largest_chunk", (json_int_t)stats.largest_chunk,
            "connections", (json_int_t)stats.connections));
    else if (!err && !p.json)
        printf("sync: %u sent, %u received, %u receipts in, %u receipts out%s\n", stats.uploaded,
               stats.downloaded, stats.receipts_received, stats.receipts_sent,
               stats.failed ? ", some messages could not move (see above)" : "");
    fflush(stdout);
    if (err) {
        const char *detail = jn_sync_last_error(sync);
        char safe[OUT_TEXT_SIZE(512)]; /* the relay's own words: any bytes */
        status = detail[0] ? app_fail("sync: %s (%s)", app_strerror(err),
                                      out_text(detail, safe, sizeof(safe)))
                           : app_fail("sync: %s", app_strerror(err));
    } else if (stats.failed) {
        /* A pass that left messages behind is not a success: scripts and
         * the station's log see a non-zero status and one line saying so. */
        status = app_fail("sync: %u message%s could not move this time; they are retried on the "
                          "next sync",
                          stats.failed, stats.failed == 1 ? "" : "s");
    }
    jn_sync_destroy(sync);
    js_store_destroy(store);
    return status;
}

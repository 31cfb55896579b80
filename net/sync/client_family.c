/*
 * Family membership against the relay: create, invite, join, list.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client_internal.h"

/* Copies a string member of at most size - 1 bytes. hex_only: ids and
 * tokens, lower-case hex. Otherwise any text jansson accepted (UTF-8, no
 * NUL): a name is shown by the program, which escapes what a terminal
 * would act on, so one odd name does not hide the whole family. */
static int copy_string(json_t *root, const char *key, char *dst, size_t size, bool hex_only)
{
    json_t *v = json_object_get(root, key);
    const char *s;
    size_t n, i;

    if (!json_is_string(v))
        return JN_ERR_PROTOCOL;
    s = json_string_value(v);
    n = strlen(s);
    if (n == 0 || n >= size)
        return JN_ERR_PROTOCOL;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (hex_only && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return JN_ERR_PROTOCOL;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

static int read_code(json_t *invite, char *code, size_t size)
{
    int err = copy_string(invite, "code", code, size, false);

    for (size_t i = 0; !err && code[i]; i++)
        if (code[i] < '0' || code[i] > '9')
            err = JN_ERR_PROTOCOL;
    return err;
}

static int read_identity(json_t *root, struct jn_family_identity *id)
{
    int err;

    err = copy_string(root, "family_id", id->family_id, sizeof(id->family_id), true);
    if (!err)
        err = copy_string(root, "device_id", id->device_id, sizeof(id->device_id), true);
    if (!err)
        err = copy_string(root, "token", id->token, sizeof(id->token), true);
    return err;
}

int jn_family_create(jn_http *http, const char *name, struct jn_family_identity *out)
{
    json_t *body, *answer = NULL;
    int err;

    memset(out, 0, sizeof(*out));
    body = json_pack("{s:s}", "name", name);
    if (!body)
        return -ENOMEM;
    /* Not retried blindly: a lost answer would leave an orphan family. */
    err = jn_json_call(http, "POST", "/v1/families", body, 0, 1, &answer);
    json_decref(body);
    if (!err && !answer)
        err = JN_ERR_PROTOCOL;
    if (!err)
        err = read_identity(answer, out);
    if (!err)
        err = read_code(json_object_get(answer, "invite"), out->invite, sizeof(out->invite));
    json_decref(answer);
    return err;
}

int jn_family_join(jn_http *http, const char *code, const char *name,
                   struct jn_family_identity *out)
{
    json_t *body, *answer = NULL;
    int err;

    memset(out, 0, sizeof(*out));
    body = json_pack("{s:s, s:s}", "code", code, "name", name);
    if (!body)
        return -ENOMEM;
    err = jn_json_call(http, "POST", "/v1/join", body, 0, 1, &answer);
    json_decref(body);
    if (!err && !answer)
        err = JN_ERR_PROTOCOL;
    if (!err)
        err = read_identity(answer, out);
    json_decref(answer);
    return err;
}

int jn_family_invite(jn_http *http, char *code, size_t size)
{
    json_t *answer = NULL;
    int err;

    err = jn_json_call(http, "POST", "/v1/invites", NULL, 0, 0, &answer);
    if (!err && !answer)
        err = JN_ERR_PROTOCOL;
    if (!err)
        err = read_code(answer, code, size);
    json_decref(answer);
    return err;
}

int jn_family_members(jn_http *http, jn_member_fn fn, void *user)
{
    return jn_family_members_tries(http, 0, fn, user);
}

int jn_family_members_tries(jn_http *http, unsigned max_attempts, jn_member_fn fn, void *user)
{
    json_t *answer = NULL, *members, *m;
    size_t i;
    int err, count = 0;

    err = jn_json_call(http, "GET", "/v1/family", NULL, 0, max_attempts, &answer);
    if (!err && !answer)
        err = JN_ERR_PROTOCOL;
    if (err)
        return err;
    members = json_object_get(answer, "members");
    if (!json_is_array(members) || json_array_size(members) > 1000) {
        err = JN_ERR_PROTOCOL;
        goto out;
    }
    json_array_foreach(members, i, m)
    {
        char device[65], name[128];
        if (copy_string(m, "device_id", device, sizeof(device), true) ||
            copy_string(m, "name", name, sizeof(name), false)) {
            err = JN_ERR_PROTOCOL;
            goto out;
        }
        err = fn(user, device, name);
        if (err)
            goto out;
        count++;
    }
out:
    json_decref(answer);
    return err ? err : count;
}

/*
 * The family's member list, signed by the member who last changed it
 * (docs/encryption.md, "Member list").
 */
#include <string.h>

#include "e2e_internal.h"

static const char roster_context[] = "jiashu roster v1";

static int check_members(const struct je_roster *r)
{
    if (r->count == 0 || r->count > JE_MAX_MEMBERS)
        return JE_ERR_MALFORMED;
    for (unsigned i = 0; i < r->count; i++) {
        size_t n = strnlen(r->members[i].name, JE_NAME_MAX + 1);
        if (n == 0 || n > JE_NAME_MAX)
            return JE_ERR_MALFORMED;
        for (unsigned j = 0; j < i; j++)
            if (!memcmp(r->members[i].device_id, r->members[j].device_id, JE_ID_BYTES) ||
                !memcmp(r->members[i].sign_pk, r->members[j].sign_pk, JE_SIGN_PK_BYTES) ||
                !memcmp(r->members[i].box_pk, r->members[j].box_pk, JE_BOX_PK_BYTES))
                return JE_ERR_MALFORMED;
    }
    return 0;
}

/* Everything before the signer's key. */
static size_t encode_body(const struct je_roster *r, uint8_t *out)
{
    size_t at = 0;

    memcpy(out, "JSR1", 4);
    at = 4;
    put_u64le(out + at, r->version);
    at += 8;
    memcpy(out + at, r->family_id, JE_ID_BYTES);
    at += JE_ID_BYTES;
    out[at++] = (uint8_t)r->count;
    for (unsigned i = 0; i < r->count; i++) {
        const struct je_member *m = &r->members[i];
        size_t n = strlen(m->name);
        memcpy(out + at, m->device_id, JE_ID_BYTES);
        at += JE_ID_BYTES;
        memcpy(out + at, m->sign_pk, 32);
        at += 32;
        memcpy(out + at, m->box_pk, 32);
        at += 32;
        out[at++] = (uint8_t)n;
        memcpy(out + at, m->name, n);
        at += n;
    }
    return at;
}

int je_roster_sign(struct je_roster *roster, const struct je_identity *signer, uint8_t *out,
                   size_t *len)
{
    size_t at;
    int err = check_members(roster);

    if (err)
        return err;
    at = encode_body(roster, out);
    memcpy(roster->signer_pk, signer->sign_pk, 32);
    memcpy(out + at, signer->sign_pk, 32);
    at += 32;
    /* Pure Ed25519 over context || body (everything up to the signature). */
    {
        uint8_t msg[JE_ROSTER_MAX + sizeof(roster_context)];
        size_t mlen = sizeof(roster_context) - 1 + at;
        memcpy(msg, roster_context, sizeof(roster_context) - 1);
        memcpy(msg + sizeof(roster_context) - 1, out, at);
        crypto_sign_detached(roster->signature, NULL, msg, mlen, signer->sign_sk);
    }
    memcpy(out + at, roster->signature, 64);
    *len = at + 64;
    return 0;
}

int je_roster_parse(const uint8_t *bytes, size_t len, struct je_roster *out)
{
    size_t at = 0;

    memset(out, 0, sizeof(*out));
    if (len < 4 + 8 + 16 + 1 + 32 + 64 || len > JE_ROSTER_MAX || memcmp(bytes, "JSR1", 4))
        return JE_ERR_MALFORMED;
    at = 4;
    out->version = get_u64le(bytes + at);
    at += 8;
    memcpy(out->family_id, bytes + at, JE_ID_BYTES);
    at += JE_ID_BYTES;
    out->count = bytes[at++];
    if (out->count == 0 || out->count > JE_MAX_MEMBERS || out->version == 0)
        return JE_ERR_MALFORMED;
    for (unsigned i = 0; i < out->count; i++) {
        struct je_member *m = &out->members[i];
        size_t n;
        if (len - at < 16 + 32 + 32 + 1 + 96)
            return JE_ERR_MALFORMED;
        memcpy(m->device_id, bytes + at, 16);
        memcpy(m->sign_pk, bytes + at + 16, 32);
        memcpy(m->box_pk, bytes + at + 48, 32);
        n = bytes[at + 80];
        at += 81;
        if (n == 0 || n > JE_NAME_MAX || len - at < n + 96 || memchr(bytes + at, 0, n))
            return JE_ERR_MALFORMED;
        memcpy(m->name, bytes + at, n);
        m->name[n] = '\0';
        at += n;
    }
    if (len - at != 96)
        return JE_ERR_MALFORMED;
    memcpy(out->signer_pk, bytes + at, 32);
    memcpy(out->signature, bytes + at + 32, 64);
    if (check_members(out))
        return JE_ERR_MALFORMED;
    {
        uint8_t msg[JE_ROSTER_MAX + sizeof(roster_context)];
        size_t mlen = sizeof(roster_context) - 1 + at + 32;
        memcpy(msg, roster_context, sizeof(roster_context) - 1);
        memcpy(msg + sizeof(roster_context) - 1, bytes, at + 32);
        if (crypto_sign_verify_detached(out->signature, msg, mlen, out->signer_pk) != 0)
            return JE_ERR_SIGNATURE;
    }
    return 0;
}

static bool signed_by_member(const struct je_roster *by, const uint8_t pk[32])
{
    for (unsigned i = 0; i < by->count; i++)
        if (!memcmp(by->members[i].sign_pk, pk, 32))
            return true;
    return false;
}

static bool same_roster(const struct je_roster *a, const struct je_roster *b)
{
    return a->version == b->version && !memcmp(a->signature, b->signature, 64) &&
           !memcmp(a->signer_pk, b->signer_pk, 32);
}

int je_roster_accept(const struct je_roster *current, const struct je_roster *candidate)
{
    if (!current)
        return signed_by_member(candidate, candidate->signer_pk) ? 1 : JE_ERR_ROSTER;
    if (memcmp(current->family_id, candidate->family_id, JE_ID_BYTES))
        return JE_ERR_ROSTER;
    if (same_roster(current, candidate))
        return 0;
    if (candidate->version <= current->version)
        return JE_ERR_ROSTER;
    return signed_by_member(current, candidate->signer_pk) ? 1 : JE_ERR_ROSTER;
}

const struct je_member *je_roster_find(const struct je_roster *roster,
                                       const uint8_t device_id[JE_ID_BYTES])
{
    for (unsigned i = 0; i < roster->count; i++)
        if (!memcmp(roster->members[i].device_id, device_id, JE_ID_BYTES))
            return &roster->members[i];
    return NULL;
}

const struct je_member *je_roster_find_name(const struct je_roster *roster,
                                            const char *name_or_hex_id)
{
    uint8_t id[JE_ID_BYTES];

    if (je_id_parse(name_or_hex_id, id) == 0 && je_roster_find(roster, id))
        return je_roster_find(roster, id);
    for (unsigned i = 0; i < roster->count; i++)
        if (!strcmp(roster->members[i].name, name_or_hex_id))
            return &roster->members[i];
    return NULL;
}

/*
 * Unit tests of the sync client's retry manners: the backoff draws, which
 * answers are retried, and that a bad relay address is refused up front.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/sync/sync.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                             \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void backoff_is_full_jitter_under_a_cap(void)
{
    struct jn_backoff b;
    unsigned max_seen[12] = {0}, min_seen[12];
    int round, n;

    for (n = 0; n < 12; n++)
        min_seen[n] = ~0u;
    for (round = 0; round < 400; round++) {
        jn_backoff_init(&b, 0, 0);
        for (n = 0; n < 12; n++) {
            unsigned ms = jn_backoff_next_ms(&b, -1);
            unsigned ceiling = 500u << n;
            if (ceiling > 180000)
                ceiling = 180000;
            CHECK(ms <= ceiling);
            if (ms > max_seen[n])
                max_seen[n] = ms;
            if (ms < min_seen[n])
                min_seen[n] = ms;
        }
    }
    /* Full jitter: the draws spread from near zero to near the ceiling. */
    CHECK(min_seen[5] < 500);
    CHECK(max_seen[5] > 12000);
    CHECK(max_seen[11] > 150000 && max_seen[11] <= 180000);
    /* Retry-After wins, even beyond the cap, up to an hour. */
    jn_backoff_init(&b, 0, 0);
    CHECK(jn_backoff_next_ms(&b, 7) == 7000);
    CHECK(jn_backoff_next_ms(&b, 86400) == 3600000);
    jn_backoff_reset(&b);
    CHECK(jn_backoff_next_ms(&b, -1) <= 500);
    /* What a program sets from JIASHU_BACKOFF_MS=10,40 for its tests. */
    jn_net_set_overrides(&(struct jn_net_overrides){.backoff_base_ms = 10, .backoff_cap_ms = 40});
    jn_backoff_init(&b, 0, 0);
    for (n = 0; n < 20; n++)
        CHECK(jn_backoff_next_ms(&b, -1) <= 40);
    jn_net_set_overrides(&(struct jn_net_overrides){0});
}

static void only_fixable_answers_are_retried(void)
{
    static const long retried[] = {408, 409, 429, 460, 500, 502, 503, 504, 507};
    static const long final[] = {400, 401, 403, 404, 405, 410, 411, 413, 415, 416, 431, 451};
    size_t i;

    for (i = 0; i < sizeof(retried) / sizeof(retried[0]); i++)
        CHECK(jn_error_is_transient(jn_http_status_error(retried[i])));
    for (i = 0; i < sizeof(final) / sizeof(final[0]); i++)
        CHECK(!jn_error_is_transient(jn_http_status_error(final[i])));
    CHECK(jn_http_status_error(200) == 0 && jn_http_status_error(204) == 0);
    CHECK(jn_http_status_error(206) == 0);
    CHECK(jn_error_is_transient(JN_ERR_NETWORK));
    CHECK(!jn_error_is_transient(JN_ERR_TLS));
    CHECK(!jn_error_is_transient(JN_ERR_TOO_LARGE));
}

static void bad_addresses_are_refused(void)
{
    static const char *bad[] = {"ftp://relay", "relay.example", "", "file:///etc/passwd"};
    struct jn_http_config c = {0};
    jn_http *http = (jn_http *)1;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.base_url = bad[i];
        CHECK(jn_http_create(&c, &http) == JN_ERR_URL && http == NULL);
    }
    c.base_url = "https://relay.example:8443/";
    CHECK(jn_http_create(&c, &http) == 0);
    jn_http_destroy(http);
    jn_http_destroy(NULL);
    for (int e = JN_ERR_GAVE_UP; e <= JN_ERR_NETWORK; e++)
        CHECK(strlen(ju_strerror(e)) > 10);
}

static void a_closed_port_is_a_network_error(void)
{
    struct jn_http_config c = {.base_url = "http://127.0.0.1:1"};
    struct jn_http_request req = {.method = "GET", .path = "/v1/family"};
    struct jn_http_response resp;
    jn_http *http;

    CHECK(jn_http_create(&c, &http) == 0);
    CHECK(jn_http_request(http, &req, &resp) == JN_ERR_NETWORK);
    CHECK(resp.status == 0);
    CHECK(jn_http_last_error(http)[0] != '\0');
    jn_http_response_finish(&resp);
    jn_http_destroy(http);
}

int main(void)
{
    backoff_is_full_jitter_under_a_cap();
    only_fixable_answers_are_retried();
    bad_addresses_are_refused();
    a_closed_port_is_a_network_error();
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}

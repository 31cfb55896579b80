/*
 * The station's registry with real SQLite and real Argon2id: PINs stored only
 * as salted hashes, wrong PINs slowed down by growing waits that survive a
 * restart, one home per family, and a damaged file refused cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "station_registry.h"
#include "store/store.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static char base[512];
static int counter;

static const char *fresh_home(void)
{
    static char home[PATH_MAX];
    snprintf(home, sizeof(home), "%s/station%d", base, counter++);
    return home;
}

static bool file_holds(const char *path, const char *needle)
{
    static char buf[1 << 20];
    size_t n, len = strlen(needle);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (size_t i = 0; i + len <= n; i++)
        if (!memcmp(buf + i, needle, len))
            return true;
    return false;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void pins_are_stored_only_hashed(void)
{
    const char *home = fresh_home();
    char db[PATH_MAX + 32], wal[PATH_MAX + 32];
    st_registry *reg;
    unsigned n = 0;
    int64_t wait = -1;

    CHECK(st_registry_create(home, true, &reg) == 0);
    CHECK(st_registry_set_teacher_pin(reg, "86420") == 0);
    CHECK(st_registry_add_family(reg, "73915", &n) == 0);
    CHECK(n == 1);
    CHECK(st_registry_check_family(reg, 1, "73915", &wait) == 0);
    CHECK(wait == 0);
    st_registry_destroy(reg);
    snprintf(db, sizeof(db), "%s/station.db", home);
    snprintf(wal, sizeof(wal), "%s/station.db-wal", home);
    CHECK(!file_holds(db, "73915") && !file_holds(wal, "73915"));
    CHECK(!file_holds(db, "86420") && !file_holds(wal, "86420"));
    {
        struct stat st;
        CHECK(stat(db, &st) == 0 && (st.st_mode & 077) == 0);
    }
}

static void same_pin_hashes_differently_per_family(void)
{
    const char *home = fresh_home();
    st_registry *reg;
    unsigned a, b;
    int64_t wait;

    CHECK(st_registry_create(home, true, &reg) == 0);
    st_registry_set_delays(reg, 0, 0);
    CHECK(st_registry_add_family(reg, "1111", &a) == 0);
    CHECK(st_registry_add_family(reg, "2222", &b) == 0);
    CHECK(a != b);
    /* Each PIN opens its own family only. */
    CHECK(st_registry_check_family(reg, a, "1111", &wait) == 0);
    CHECK(st_registry_check_family(reg, b, "1111", &wait) == ST_LOGIN_REFUSED);
    CHECK(st_registry_check_family(reg, a, "2222", &wait) == ST_LOGIN_REFUSED);
    CHECK(st_registry_check_family(reg, b, "2222", &wait) == 0);
    st_registry_destroy(reg);
}

static void wrong_pins_wait_longer_each_time(void)
{
    const char *home = fresh_home();
    st_registry *reg;
    unsigned n;
    int64_t wait = 0, last = 0;

    CHECK(st_registry_create(home, true, &reg) == 0);
    /* Waits well above one PBKDF2 check, which may take a while under a sanitizer. */
    st_registry_set_delays(reg, 300, 1200);
    CHECK(st_registry_add_family(reg, "4321", &n) == 0);
    for (int i = 0; i < 5; i++) {
        CHECK(st_registry_check_family(reg, n, "0000", &wait) == ST_LOGIN_REFUSED);
        if (i < 3)
            CHECK(wait == 300 << i);
        else
            CHECK(wait == 1200); /* never beyond the cap */
        CHECK(wait >= last);
        last = wait;
        /* While it lasts, even the right PIN is refused without a check. */
        CHECK(st_registry_check_family(reg, n, "4321", &wait) == ST_LOGIN_LOCKED);
        CHECK(wait > 0 && wait <= last);
        sleep_ms(last + 20);
    }
    CHECK(st_registry_check_family(reg, n, "4321", &wait) == 0);
    /* Success starts the count again. */
    CHECK(st_registry_check_family(reg, n, "0000", &wait) == ST_LOGIN_REFUSED);
    CHECK(wait == 300);
    st_registry_destroy(reg);
}

static void the_wait_survives_a_restart(void)
{
    const char *home = fresh_home();
    st_registry *reg;
    unsigned n;
    int64_t wait = 0;

    CHECK(st_registry_create(home, true, &reg) == 0);
    st_registry_set_delays(reg, 60000, 60000);
    CHECK(st_registry_add_family(reg, "4321", &n) == 0);
    CHECK(st_registry_check_family(reg, n, "9999", &wait) == ST_LOGIN_REFUSED);
    st_registry_destroy(reg);
    CHECK(st_registry_create(home, false, &reg) == 0);
    st_registry_set_delays(reg, 60000, 60000);
    CHECK(st_registry_check_family(reg, n, "4321", &wait) == ST_LOGIN_LOCKED);
    CHECK(wait > 50000 && wait <= 60000);
    /* The teacher's PIN shares the limiter: a guesser cannot switch targets. */
    CHECK(st_registry_check_teacher(reg, "1234", &wait) == ST_LOGIN_LOCKED);
    st_registry_destroy(reg);
}

static void unknown_families_are_refused_alike(void)
{
    const char *home = fresh_home();
    st_registry *reg;
    unsigned n;
    int64_t wait;

    CHECK(st_registry_create(home, true, &reg) == 0);
    st_registry_set_delays(reg, 0, 0);
    CHECK(st_registry_set_teacher_pin(reg, "2468") == 0);
    CHECK(st_registry_add_family(reg, "4321", &n) == 0);
    CHECK(st_registry_check_family(reg, 99, "4321", &wait) == ST_LOGIN_REFUSED);
    /* Family 0 holds the teacher's PIN in the table, and opens nothing. */
    CHECK(st_registry_check_family(reg, 0, "2468", &wait) == ST_LOGIN_REFUSED);
    CHECK(st_registry_check_teacher(reg, "4321", &wait) == ST_LOGIN_REFUSED);
    CHECK(st_registry_check_teacher(reg, "2468", &wait) == 0);
    /* A removed family is refused even with its old PIN. */
    CHECK(st_registry_remove_family(reg, n) == 0);
    CHECK(st_registry_check_family(reg, n, "4321", &wait) == ST_LOGIN_REFUSED);
    CHECK(st_registry_remove_family(reg, n) == -ENOENT);
    st_registry_destroy(reg);
}

static void bad_pins_are_not_stored(void)
{
    const char *home = fresh_home();
    st_registry *reg;
    unsigned n;

    CHECK(st_registry_create(home, true, &reg) == 0);
    CHECK(st_registry_add_family(reg, "123", &n) == -EINVAL);
    CHECK(st_registry_add_family(reg, "123456789", &n) == -EINVAL);
    CHECK(st_registry_add_family(reg, "12a4", &n) == -EINVAL);
    CHECK(st_registry_set_teacher_pin(reg, "") == -EINVAL);
    CHECK(st_registry_families(reg, &n, 1) == 0);
    st_registry_destroy(reg);
}

static void each_family_has_its_own_home(void)
{
    const char *home = fresh_home();
    char h1[PATH_MAX], h2[PATH_MAX], want[PATH_MAX + 32];
    unsigned numbers[8], a, b;
    st_registry *reg;
    struct stat st;

    CHECK(st_registry_create(home, true, &reg) == 0);
    CHECK(st_registry_add_family(reg, "1111", &a) == 0);
    CHECK(st_registry_add_family(reg, "2222", &b) == 0);
    CHECK(st_registry_family_home(reg, a, h1, sizeof(h1)) == 0);
    CHECK(st_registry_family_home(reg, b, h2, sizeof(h2)) == 0);
    snprintf(want, sizeof(want), "%s/families/%u", home, a);
    CHECK(!strcmp(h1, want));
    CHECK(strcmp(h1, h2) != 0);
    CHECK(stat(h1, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0);
    CHECK(st_registry_families(reg, numbers, 8) == 2);
    CHECK(numbers[0] == a && numbers[1] == b);
    CHECK(st_registry_last_sync(reg, a) == 0);
    CHECK(st_registry_set_last_sync(reg, a, 1700000000) == 0);
    CHECK(st_registry_last_sync(reg, a) == 1700000000);
    CHECK(st_registry_last_sync(reg, b) == 0);
    CHECK(st_registry_family_home(reg, a, h1, 8) == -ENAMETOOLONG);
    st_registry_destroy(reg);
}

static void settings_round_trip(void)
{
    const char *home = fresh_home();
    struct st_settings s = {.quiet_start = 22 * 60, .quiet_end = 6 * 60, .quota_mb = 300}, got;
    char text[64];
    st_registry *reg;

    CHECK(st_registry_create(home, true, &reg) == 0);
    CHECK(st_registry_get_settings(reg, &got) == 0);
    CHECK(got.quiet_start == got.quiet_end && got.quota_mb == 0);
    CHECK(st_registry_set_settings(reg, &s) == 0);
    CHECK(st_registry_get_text(reg, "relay", text, sizeof(text)) == -ENOENT);
    CHECK(st_registry_set_text(reg, "relay", "http://127.0.0.1:8080") == 0);
    st_registry_destroy(reg);
    CHECK(st_registry_create(home, false, &reg) == 0);
    CHECK(st_registry_get_settings(reg, &got) == 0);
    CHECK(got.quiet_start == 22 * 60 && got.quiet_end == 6 * 60 && got.quota_mb == 300);
    CHECK(st_registry_get_text(reg, "relay", text, sizeof(text)) == 0);
    CHECK(!strcmp(text, "http://127.0.0.1:8080"));
    CHECK(st_registry_get_text(reg, "relay", text, 5) == -ENAMETOOLONG);
    s.quiet_start = 1440;
    CHECK(st_registry_set_settings(reg, &s) == -EINVAL);
    st_registry_destroy(reg);

    CHECK(st_quiet_now(&got, 23 * 60));
    CHECK(st_quiet_now(&got, 0));
    CHECK(st_quiet_now(&got, 5 * 60 + 59));
    CHECK(!st_quiet_now(&got, 6 * 60));
    CHECK(!st_quiet_now(&got, 12 * 60));
    got.quiet_start = 12 * 60;
    got.quiet_end = 13 * 60;
    CHECK(st_quiet_now(&got, 12 * 60 + 30));
    CHECK(!st_quiet_now(&got, 13 * 60));
    got.quiet_end = got.quiet_start;
    CHECK(!st_quiet_now(&got, 12 * 60));
}

static void damaged_registry_is_refused_cleanly(void)
{
    const char *home = fresh_home();
    char db[PATH_MAX + 32];
    st_registry *reg = NULL;
    int fd, res;

    CHECK(!st_registry_exists(home));
    CHECK(st_registry_create(home, false, &reg) == -ENOENT);
    CHECK(mkdir(home, 0700) == 0);
    snprintf(db, sizeof(db), "%s/station.db", home);
    fd = open(db, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    for (int i = 0; i < 64; i++)
        CHECK(write(fd, "this is not a database at all. ", 31) == 31);
    close(fd);
    CHECK(st_registry_exists(home));
    res = st_registry_create(home, false, &reg);
    CHECK(res == JS_ERR_NOT_A_DATABASE);
    st_registry_destroy(NULL);
}

/* A registry written before Argon2id: schema version 1, the family's PIN
 * as PBKDF2-HMAC-SHA256 (made here with OpenSSL, an implementation
 * independent of the registry's). The PIN still opens the family, and the
 * check rewrites the hash as Argon2id. */
static void pbkdf2_pins_from_before_still_open_and_are_rehashed(void)
{
    const char *home = fresh_home();
    char path[PATH_MAX + 32];
    unsigned char salt[16] = "0123456789abcdef", hash[32];
    sqlite3 *db;
    sqlite3_stmt *stmt;
    st_registry *reg;
    int64_t wait;
    int version = -1, upgraded = -1;

    CHECK(mkdir(home, 0700) == 0);
    snprintf(path, sizeof(path), "%s/station.db", home);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE pins (owner INTEGER PRIMARY KEY, salt BLOB NOT NULL,"
                       "  hash BLOB NOT NULL, iterations INTEGER NOT NULL);"
                       "CREATE TABLE families (number INTEGER PRIMARY KEY CHECK (number > 0),"
                       "  added INTEGER NOT NULL, last_sync INTEGER NOT NULL DEFAULT 0);"
                       "CREATE TABLE settings (key TEXT PRIMARY KEY, value);"
                       "INSERT INTO families (number, added) VALUES (1, 0);"
                       "PRAGMA user_version = 1;",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(PKCS5_PBKDF2_HMAC("2580", 4, salt, sizeof(salt), 20000, EVP_sha256(), sizeof(hash),
                            hash) == 1);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO pins VALUES (1, ?, ?, 20000)", -1, &stmt, NULL) ==
          SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, salt, sizeof(salt), SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, hash, sizeof(hash), SQLITE_STATIC);
    CHECK(sqlite3_step(stmt) == SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    CHECK(st_registry_create(home, false, &reg) == 0);
    st_registry_set_delays(reg, 0, 0);
    CHECK(st_registry_check_family(reg, 1, "2581", &wait) == ST_LOGIN_REFUSED);
    CHECK(st_registry_check_family(reg, 1, "2580", &wait) == 0);
    st_registry_destroy(reg);

    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT (SELECT user_version FROM pragma_user_version),"
                             " pwhash LIKE '$argon2id$%' FROM pins WHERE owner = 1",
                             -1, &stmt, NULL) == SQLITE_OK);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        version = sqlite3_column_int(stmt, 0);
        upgraded = sqlite3_column_int(stmt, 1);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    CHECK(version == 2);
    CHECK(upgraded == 1);

    /* And the rewritten hash still opens it, and only with that PIN. */
    CHECK(st_registry_create(home, false, &reg) == 0);
    st_registry_set_delays(reg, 0, 0);
    CHECK(st_registry_check_family(reg, 1, "2580", &wait) == 0);
    CHECK(st_registry_check_family(reg, 1, "0852", &wait) == ST_LOGIN_REFUSED);
    st_registry_destroy(reg);
}

int main(void)
{
    snprintf(base, sizeof(base), "%s/jiashu-registry-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    pins_are_stored_only_hashed();
    same_pin_hashes_differently_per_family();
    wrong_pins_wait_longer_each_time();
    the_wait_survives_a_restart();
    unknown_families_are_refused_alike();
    bad_pins_are_not_stored();
    each_family_has_its_own_home();
    settings_round_trip();
    damaged_registry_is_refused_cleanly();
    pbkdf2_pins_from_before_still_open_and_are_rehashed();
    {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", base);
    }
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}

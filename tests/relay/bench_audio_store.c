/*
 * Where a relay on PostgreSQL keeps audio: the three candidates measured
 * side by side, each with the relay's promise (durable before the answer):
 *   bytea  - a row per chunk, INSERT ... VALUES ($1, $2), synchronous commit
 *   lo     - a large object per message, lo_from_bytea() in the same insert
 *   files  - a file per message in a directory every relay shares (fsync of
 *            the file and the directory), its name in a row (synchronous commit)
 * Then reads of random messages the way the download route reads them.
 *   bench_audio_store CONNINFO DIR [COUNT [BYTES]]
 * Prints one line per candidate; asserts nothing about speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(PGresult *res, PGconn *c, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench_audio_store: %s: %s", what, PQerrorMessage(c));
        exit(1);
    }
    PQclear(res);
}

static PGresult *q(PGconn *c, const char *sql, int n, const char *const *v, const int *len,
                   const int *fmt, int binary)
{
    return PQexecParams(c, sql, n, NULL, v, len, fmt, binary);
}

static long long size_of(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    long long v = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_audio_store CONNINFO DIR [COUNT [BYTES]]\n");
        return 2;
    }
    int count = argc > 3 ? atoi(argv[3]) : 500;
    int bytes = argc > 4 ? atoi(argv[4]) : 61440;
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_audio_store: %s", PQerrorMessage(c));
        return 1;
    }
    must(PQexec(c, "SET synchronous_commit = on; SET client_min_messages = warning;"
                   "DROP TABLE IF EXISTS a_bytea, a_lo, a_file;"
                   "CREATE TABLE a_bytea(id integer PRIMARY KEY, data bytea NOT NULL);"
                   "ALTER TABLE a_bytea ALTER COLUMN data SET STORAGE EXTERNAL;"
                   "CREATE TABLE a_lo(id integer PRIMARY KEY, obj oid NOT NULL);"
                   "CREATE TABLE a_file(id integer PRIMARY KEY, name text NOT NULL);"),
         c, "schema");
    char *data = malloc((size_t)bytes), *buf = malloc((size_t)bytes);
    FILE *rnd = fopen("/dev/urandom", "rb");
    if (!data || !buf || !rnd || fread(data, 1, (size_t)bytes, rnd) != (size_t)bytes)
        return 1;
    fclose(rnd);
    int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        perror(argv[2]);
        return 1;
    }

    const char *names[3] = {"bytea rows", "large objects", "shared files"};
    double write_s[3], read_s[3];
    for (int kind = 0; kind < 3; kind++) {
        double t0 = now_s();
        for (int i = 0; i < count; i++) {
            char id[16];
            snprintf(id, sizeof id, "%d", i);
            memcpy(data, &i, sizeof i); /* every message differs */
            const char *v[2] = {id, data};
            int len[2] = {0, bytes}, fmt[2] = {0, 1};
            if (kind == 0) {
                must(q(c, "INSERT INTO a_bytea VALUES ($1, $2)", 2, v, len, fmt, 0), c, "bytea");
            } else if (kind == 1) {
                must(q(c, "INSERT INTO a_lo VALUES ($1, lo_from_bytea(0, $2))", 2, v, len, fmt, 0),
                     c, "lo");
            } else {
                char name[32];
                snprintf(name, sizeof name, "m%d", i);
                int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || write(fd, data, (size_t)bytes) != bytes || fsync(fd) < 0 ||
                    close(fd) < 0 || fsync(dfd) < 0) {
                    perror("file");
                    return 1;
                }
                const char *fv[2] = {id, name};
                must(q(c, "INSERT INTO a_file VALUES ($1, $2)", 2, fv, NULL, NULL, 0), c, "file");
            }
        }
        write_s[kind] = now_s() - t0;

        srand(7);
        t0 = now_s();
        for (int i = 0; i < count; i++) {
            char id[16];
            snprintf(id, sizeof id, "%d", rand() % count);
            const char *v[1] = {id};
            PGresult *res = NULL;
            if (kind == 0)
                res = q(c, "SELECT data FROM a_bytea WHERE id = $1", 1, v, NULL, NULL, 1);
            else if (kind == 1)
                res = q(c, "SELECT lo_get(obj) FROM a_lo WHERE id = $1", 1, v, NULL, NULL, 1);
            else
                res = q(c, "SELECT name FROM a_file WHERE id = $1", 1, v, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                fprintf(stderr, "bench_audio_store: read: %s", PQerrorMessage(c));
                return 1;
            }
            if (kind < 2) {
                memcpy(buf, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
            } else {
                int fd = openat(dfd, PQgetvalue(res, 0, 0), O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read(fd, buf, (size_t)bytes) != bytes) {
                    perror("read");
                    return 1;
                }
                close(fd);
            }
            PQclear(res);
        }
        read_s[kind] = now_s() - t0;
    }
    long long disk[3] = {
        size_of(c, "SELECT pg_total_relation_size('a_bytea')"),
        size_of(c, "SELECT pg_total_relation_size('a_lo') + "
                   "pg_total_relation_size('pg_largeobject')"),
        size_of(c, "SELECT pg_total_relation_size('a_file')") + (long long)count * bytes,
    };
    for (int k = 0; k < 3; k++)
        printf("%-14s %d x %d B: %.0f writes/s (%.2f ms each), %.0f reads/s, %.1f MB on disk\n",
               names[k], count, bytes, count / write_s[k], write_s[k] * 1000 / count,
               count / read_s[k], (double)disk[k] / 1e6);
    must(PQexec(c, "SELECT lo_unlink(obj) FROM a_lo; DROP TABLE a_bytea, a_lo, a_file"), c, "drop");
    PQfinish(c);
    close(dfd);
    free(data);
    free(buf);
    return 0;
}

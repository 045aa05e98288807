/* pgx_checksum.h — the checksum of a customers table over a range of ids, computed the same
 * way by customer-service (its write model, customer.customers, GET /admin/checksum) and by
 * order-service (its read model, "order".customers) so that the live reconciliation can
 * compare the two without either service reading the other's schema.
 *
 * Per row: h = the first 64 bits of md5 of "id:version:len(username):username:len(first):
 * first:len(last):last" (lengths make the text unambiguous); a range's hash is the XOR of its
 * rows' h (bit_xor, order-independent: ids are unique, so no row cancels another) and its
 * count. Ranges are [from, to) in uuid order; from NULL = the first id, to NULL = no upper
 * end. Both use the table's primary key index. The table must have the columns id (uuid),
 * version, username, first_name, last_name.
 */
#ifndef CQ_PGX_CHECKSUM_H
#define CQ_PGX_CHECKSUM_H

#include <stddef.h>

#include <libpq-fe.h>

#define PGX_HASH_LEN 16 /* hex digits of a 64-bit hash */

typedef struct pgx_checksum {
    long long count;
    char hash[PGX_HASH_LEN + 1]; /* hex; "0000000000000000" for an empty range */
} pgx_checksum_t;

typedef struct pgx_checksum_row {
    char id[37];
    long long version;
    char hash[PGX_HASH_LEN + 1];
} pgx_checksum_row_t;

/* The count and hash of `table`'s rows with from ≤ id < to. 0, or -1 with err (the server's
 * message, e.g. a malformed uuid). */
int pgx_checksum(PGconn *c, const char *table, const char *from, const char *to, pgx_checksum_t *out,
                 char *err, size_t errlen);

/* The first `limit` rows (id order) of the same range with their versions and hashes: their
 * number in *n. 0 or -1 with err. */
int pgx_checksum_rows(PGconn *c, const char *table, const char *from, const char *to, int limit,
                      pgx_checksum_row_t *rows, int *n, char *err, size_t errlen);

/* Only these ids (n ≤ 10000, each a uuid), in id order; absent ones are left out. */
int pgx_checksum_ids(PGconn *c, const char *table, const char *const *ids, int nids, pgx_checksum_row_t *rows,
                     int *n, char *err, size_t errlen);

#endif

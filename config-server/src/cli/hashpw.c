/* hashpw.c — the hash-password subcommand (hashpw.h). */
#include "cli/hashpw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/pwhash.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: config-server hash-password [--iterations N] < password\n\n"
            "Reads the password from stdin (the first line, without its line break) and prints the\n"
            "hash to put in the credentials file (clients[].password): salted PBKDF2-HMAC-SHA256,\n"
            "$pbkdf2-sha256$<iterations>$<salt>$<hash> (passlib's format). --iterations defaults to %d\n"
            "(at least %d). Example:\n"
            "  printf '%%s' \"$PASSWORD\" | config-server hash-password\n",
            CS_PWHASH_DEFAULT_ITERATIONS, CS_PWHASH_MIN_ITERATIONS);
}

int cs_hashpw_main(int argc, char **argv)
{
    unsigned long iterations = CS_PWHASH_DEFAULT_ITERATIONS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            iterations = strtoul(argv[++i], &end, 10);
            if (errno == 0 && *end == '\0' && iterations >= CS_PWHASH_MIN_ITERATIONS &&
                iterations <= 100000000ul)
                continue;
            fprintf(stderr, "config-server hash-password: --iterations %s: a number from %d to 100000000\n",
                    argv[i], CS_PWHASH_MIN_ITERATIONS);
            return 2;
        }
        fprintf(stderr, "config-server hash-password: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }
    char pw[1024];
    int rc = 1;
    if (fgets(pw, sizeof(pw), stdin) == NULL) {
        fprintf(stderr, "config-server hash-password: no password on stdin\n");
        goto cleanup;
    }
    size_t n = strcspn(pw, "\r\n");
    if (pw[n] == '\0' && !feof(stdin) && n == sizeof(pw) - 1) {
        fprintf(stderr, "config-server hash-password: the password is longer than %zu bytes\n",
                sizeof(pw) - 2);
        goto cleanup;
    }
    pw[n] = '\0';
    if (n == 0) {
        fprintf(stderr, "config-server hash-password: the password is empty\n");
        goto cleanup;
    }
    char out[256];
    if (cs_pwhash_make(pw, n, (unsigned)iterations, out, sizeof(out)) != 0) {
        fprintf(stderr, "config-server hash-password: cannot hash (no randomness?)\n");
        goto cleanup;
    }
    printf("%s\n", out);
    rc = 0;
cleanup:
    OPENSSL_cleanse(pw, sizeof(pw));
    return rc;
}

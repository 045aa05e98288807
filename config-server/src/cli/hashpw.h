/* hashpw.h — `config-server hash-password`: reads a password from stdin (its first line,
 * without the line break) and prints its hash for the credentials file (auth/pwhash.h):
 *
 *     printf '%s' "$PASSWORD" | config-server hash-password [--iterations N]
 */
#ifndef CS_HASHPW_H
#define CS_HASHPW_H

/* The subcommand's main (argv[0] is "hash-password"). Exit code: 0, 1 (no password, no
 * randomness) or 2 (usage). */
int cs_hashpw_main(int argc, char **argv);

#endif

/* main.c — order-service: the read side: customer read model from Kafka, orders API.
 *
 * At this stage the program only parses its command line: --help and --version.
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: order-service [--help] [--version]\n\n"
                 "order-service — the read side: customer read model from Kafka, orders API.\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("order-service %s\n", CQ_VERSION);
            return 0;
        }
        fprintf(stderr, "order-service: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }
    fprintf(stderr, "order-service: not yet able to run; see --help\n");
    return 1;
}

/* cqexit.h — the exit codes all three programs share (sysexits.h values), so a program
 * can name them without linking the module that defines its own alias (svc.h's SVC_EXIT_*,
 * cfgcli.h's CFGCLI_EXIT_*). Header only.
 */
#ifndef CQ_CQEXIT_H
#define CQ_CQEXIT_H

#define CQ_EXIT_USAGE 2         /* bad command line */
#define CQ_EXIT_UNAVAILABLE 69  /* EX_UNAVAILABLE: a dependency unusable at start */
#define CQ_EXIT_SOFTWARE 70     /* EX_SOFTWARE: any other start-up or run failure */
#define CQ_EXIT_STOP_TIMEOUT 75 /* the teardown overran its deadline (or a second signal came) */
#define CQ_EXIT_CONFIG 78       /* EX_CONFIG: no valid configuration */

#endif

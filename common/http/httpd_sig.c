/* httpd_sig.c — the stop signals of httpd.h: SIGTERM and SIGINT blocked in every thread
 * and waited for with sigwait in main, then the server drained (httpd_run_until_signal, httpd.c).
 */
#include "httpd.h"

#include <pthread.h>
#include <signal.h>

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

int httpd_block_signals(void)
{
    sigset_t set;
    stop_signals(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

int httpd_wait_signal(void)
{
    sigset_t set;
    int sig = 0;
    stop_signals(&set);
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
}

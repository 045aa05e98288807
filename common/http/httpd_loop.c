/* httpd_loop.c — the life of one loop thread of httpd (httpd_loop_main): its h2o loop,
 * context and listener made on the thread itself, accepting under the connection cap, and
 * the graceful drain at stop (in-flight requests answered, idle keep-alive connections
 * closed, h2o's timeouts unlinked before the context is disposed). See httpd_int.h.
 */
#include "httpd_int.h"

#include <semaphore.h>
#include <stdatomic.h>

static void on_accept(h2o_socket_t *listener, const char *err);

static void on_sock_close(void *data)
{
    httpd_thread_t *t = data;
    httpd_t *s = t->srv;
    t->nconn--;
    long open = atomic_fetch_sub(&s->nconn, 1) - 1;
    if (t->paused && t->listener != NULL && !atomic_load(&s->stopping) && open < s->o.max_connections) {
        t->paused = 0;
        h2o_socket_read_start(t->listener, on_accept);
    }
    if (open < (long)s->o.max_connections * 9 / 10 && atomic_exchange(&s->capped, 0) && s->o.log != NULL)
        clog_info(s->o.log, "httpd: %ld connection(s) open, accepting again", open);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    httpd_thread_t *t = listener->data;
    httpd_t *s = t->srv;
    if (err != NULL)
        return;
    for (int i = 0; i < 16; i++) {
        if (atomic_load(&s->nconn) >= s->o.max_connections) {
            /* at the cap: leave new connections in the backlog until one of ours closes */
            h2o_socket_read_stop(listener);
            t->paused = 1;
            if (!atomic_exchange(&s->capped, 1) && s->o.log != NULL)
                clog_warn(s->o.log, "httpd: %d connections open (the cap): new ones wait",
                          s->o.max_connections);
            return;
        }
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            return;
        t->nconn++;
        atomic_fetch_add(&s->nconn, 1);
        sock->on_close.cb = on_sock_close;
        sock->on_close.data = t;
        if (s->tls != NULL)
            httpd_tls_refresh(s->tls, &t->accept_ctx.ssl_ctx, &t->tls_gen);
        h2o_accept(&t->accept_ctx, sock);
    }
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    (void)messages; /* only NULL messages are ever sent: they just wake the loop */
}

static void unlink_all(h2o_timeout_t *to)
{
    while (!h2o_linklist_is_empty(&to->_entries)) {
        h2o_timeout_entry_t *e = H2O_STRUCT_FROM_MEMBER(h2o_timeout_entry_t, _link, to->_entries.next);
        h2o_timeout_unlink(e);
    }
}

/* Creates the loop, context, wake-up receiver and listener of one thread, ON that thread:
 * h2o's socket buffers take their allocator from a thread-local prototype when the socket
 * is made, and the context's wake-up queue is a socket that the loop thread reads. Made on
 * the starting thread (as it was), every loop thread's wake-ups were read into buffers of the
 * starting thread's recycle list, which several loop threads then used at once — a heap
 * use-after-free when httpd_stop woke them all together (seen under ASan at a SIGTERM).
 * httpd_start waits for `ready`, so httpd_stop can always message the receiver. */
static void thread_setup(httpd_thread_t *t)
{
    httpd_t *s = t->srv;
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, loop, &s->cfg);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = s->cfg.hosts;
    if (s->tls != NULL)
        httpd_tls_refresh(s->tls, &t->accept_ctx.ssl_ctx, &t->tls_gen);
    h2o_multithread_register_receiver(t->ctx.queue, &t->receiver, on_wake);
    t->listener = h2o_evloop_socket_create(loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    t->fd = -1; /* owned by the socket now */
    t->listener->data = t;
    h2o_socket_read_start(t->listener, on_accept);
}

void *httpd_loop_main(void *arg)
{
    httpd_thread_t *t = arg;
    httpd_t *s = t->srv;

    thread_setup(t);
    h2o_evloop_t *loop = t->ctx.loop;
    sem_post(&t->ready);
    if (s->o.loop_hook != NULL)
        s->o.loop_hook(s->o.loop_ctx, &t->ctx, HTTPD_LOOP_START);
    while (!atomic_load(&s->stopping))
        h2o_evloop_run(loop, INT32_MAX);

    /* drain: stop accepting, finish in-flight requests, close idle keep-alive conns */
    h2o_socket_read_stop(t->listener);
    h2o_evloop_run(loop, 0);
    h2o_socket_close(t->listener);
    t->listener = NULL;
    h2o_context_request_shutdown(&t->ctx);
    if (s->o.loop_hook != NULL)
        s->o.loop_hook(s->o.loop_ctx, &t->ctx, HTTPD_LOOP_DRAIN);
    /* A request already on its way — on a connection accepted just before (possibly by
     * another loop thread a moment ago), or on an idle keep-alive one — still gets its
     * answer (with Connection: close) instead of a closed connection the client would
     * report as a failure: a short grace before the idle ones are closed. */
    uint64_t grace = h2o_now(loop) + HTTPD_DRAIN_GRACE_MS;
    while (t->nconn > 0 && h2o_now(loop) < grace)
        h2o_evloop_run(loop, 10);
    /* HTTP/1 in 2.2.5 does not close idle connections on shutdown: expire them now, and
     * TLS handshakes that have not finished */
    t->ctx.http1.req_timeout.timeout = 0;
    t->ctx.handshake_timeout.timeout = 0;
    uint64_t deadline = h2o_now(loop) + (uint64_t)s->o.drain_ms;
    while (t->nconn > 0 && h2o_now(loop) < deadline)
        h2o_evloop_run(loop, 10);
    if (t->nconn > 0 && s->o.log != NULL)
        clog_warn(s->o.log, "httpd: %ld connection(s) still open after the %d ms drain deadline", t->nconn,
                  s->o.drain_ms);
    /* let pending closes and zero-timeouts run before the timeouts are disposed */
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(loop, 1);
    if (s->o.loop_hook != NULL)
        s->o.loop_hook(s->o.loop_ctx, &t->ctx, HTTPD_LOOP_STOP);
    /* h2o keeps a periodic entry on one_sec_timeout; dispose asserts the lists are empty */
    unlink_all(&t->ctx.one_sec_timeout);
    unlink_all(&t->ctx.zero_timeout);
    unlink_all(&t->ctx.hundred_ms_timeout);
    unlink_all(&t->ctx.handshake_timeout);
    h2o_multithread_unregister_receiver(t->ctx.queue, &t->receiver);
    h2o_context_dispose(&t->ctx); /* 2.2.5 leaves the queue allocated (destroying it crashes) */
    if (t->nconn == 0)
        h2o_evloop_destroy(loop);
    SSL_CTX_free(t->accept_ctx.ssl_ctx); /* open connections' SSLs hold their own */
    t->accept_ctx.ssl_ctx = NULL;
    return NULL;
}

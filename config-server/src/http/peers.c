/* peers.c — forwarding POST /monitor to the other replicas (peers.h): a queue of copies,
 * one thread that sends each copy to every peer at once with a libcurl multi handle. */
#include "http/peers.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "errbuf.h"

#define PEERS_QUEUE_MAX 16
#define PEERS_MAX 64
#define PEERS_HOP_HEADER "X-Config-Monitor-Forwarded"

typedef struct peers_job {
    struct peers_job *next;
    char *body; /* owned */
    size_t len;
    struct curl_slist *hdrs; /* owned: the headers of the copy */
} peers_job_t;

typedef struct peers_target {
    char url[600];
    char connect_to[600]; /* "" or host:port:addr:port */
    char name[300];       /* for the log */
    CURL *e;
    long status;
    char err[CURL_ERROR_SIZE];
} peers_target_t;

struct cs_peers {
    cs_peers_opts_t o;
    char id[33];
    char **list; /* owned: base URLs "scheme://host:port" */
    size_t nlist;
    char dns_name[256];
    int dns_port;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    peers_job_t *head, *tail;
    int queued, stop, running;
};

static void job_free(peers_job_t *j)
{
    if (j == NULL)
        return;
    free(j->body);
    curl_slist_free_all(j->hdrs);
    free(j);
}

/* ---------------------------------------------------------------- who the peers are */

/* 1 when `sa` is an address of one of this host's interfaces. */
static int is_local_addr(const struct sockaddr *sa, struct ifaddrs *ifs)
{
    for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != sa->sa_family)
            continue;
        if (sa->sa_family == AF_INET && ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
                                            ((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr)
            return 1;
        if (sa->sa_family == AF_INET6 &&
            memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
                   &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, sizeof(struct in6_addr)) == 0)
            return 1;
    }
    return 0;
}

/* Fills `t` with the peers of this forward: the static list, then every address of the DNS
 * name except our own. Returns how many. */
static size_t collect_targets(cs_peers_t *p, peers_target_t *t, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nlist && n < max; i++, n++) {
        memset(&t[n], 0, sizeof(t[n]));
        snprintf(t[n].url, sizeof(t[n].url), "%s/monitor", p->list[i]);
        snprintf(t[n].name, sizeof(t[n].name), "%s", p->list[i]);
    }
    if (p->dns_name[0] == '\0')
        return n;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", p->dns_port);
    int gai = getaddrinfo(p->dns_name, port, &hints, &res);
    if (gai != 0) {
        if (p->o.log != NULL)
            clog_warn(p->o.log, "monitor: cannot resolve the peers' name %s: %s", p->dns_name,
                      gai_strerror(gai));
        return n;
    }
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        ifs = NULL;
    for (struct addrinfo *a = res; a != NULL && n < max; a = a->ai_next) {
        char host[INET6_ADDRSTRLEN] = "";
        if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        if (p->dns_port == p->o.self_port && is_local_addr(a->ai_addr, ifs))
            continue; /* ourselves */
        int dup = 0;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strstr(t[k].connect_to, host) != NULL;
        if (dup)
            continue;
        memset(&t[n], 0, sizeof(t[n]));
        int v6 = a->ai_family == AF_INET6;
        snprintf(t[n].url, sizeof(t[n].url), "%s://%s:%d/monitor", p->o.tls ? "https" : "http", p->dns_name,
                 p->dns_port);
        snprintf(t[n].connect_to, sizeof(t[n].connect_to), "%s:%d:%s%s%s:%d", p->dns_name, p->dns_port,
                 v6 ? "[" : "", host, v6 ? "]" : "", p->dns_port);
        snprintf(t[n].name, sizeof(t[n].name), "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", p->dns_port);
        n++;
    }
    if (ifs != NULL)
        freeifaddrs(ifs);
    freeaddrinfo(res);
    return n;
}

/* ---------------------------------------------------------------- sending */

static size_t discard(char *ptr, size_t sz, size_t n, void *ud)
{
    (void)ptr;
    (void)ud;
    return sz * n;
}

static void send_job(cs_peers_t *p, peers_job_t *j)
{
    peers_target_t *t = calloc(PEERS_MAX, sizeof(*t));
    CURLM *m = curl_multi_init();
    struct curl_slist *ct[PEERS_MAX] = {0};
    if (t == NULL || m == NULL) {
        free(t);
        if (m != NULL)
            curl_multi_cleanup(m);
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t n = collect_targets(p, t, PEERS_MAX);
    for (size_t i = 0; i < n; i++) {
        CURL *e = t[i].e = curl_easy_init();
        if (e == NULL)
            continue;
        curl_easy_setopt(e, CURLOPT_URL, t[i].url);
        if (t[i].connect_to[0] != '\0') {
            ct[i] = curl_slist_append(NULL, t[i].connect_to);
            curl_easy_setopt(e, CURLOPT_CONNECT_TO, ct[i]);
        }
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->len);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t[i].err);
        curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)&t[i]);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        if (p->o.ca_file != NULL)
            curl_easy_setopt(e, CURLOPT_CAINFO, p->o.ca_file);
        if (p->o.cert_file != NULL && p->o.key_file != NULL) {
            curl_easy_setopt(e, CURLOPT_SSLCERT, p->o.cert_file);
            curl_easy_setopt(e, CURLOPT_SSLKEY, p->o.key_file);
        }
        curl_multi_add_handle(m, e);
    }
    int running = 1;
    while (running > 0) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        peers_target_t *tt = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&tt);
        if (tt == NULL || msg->msg != CURLMSG_DONE)
            continue;
        if (msg->data.result == CURLE_OK)
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &tt->status);
        else if (tt->err[0] == '\0')
            snprintf(tt->err, sizeof(tt->err), "%s", curl_easy_strerror(msg->data.result));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    json_t *list = json_array();
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].status == 200)
            ok++;
        else if (p->o.log != NULL)
            clog_ev(p->o.log, CLOG_WARN,
                    json_pack("{s:s,s:I,s:s}", "peer", t[i].name, "status", (json_int_t)t[i].status, "error",
                              t[i].err),
                    "monitor: forwarding to peer %s failed (%s); it fetches on its own timer", t[i].name,
                    t[i].err[0] ? t[i].err : "not 200");
        json_array_append_new(list,
                              json_pack("{s:s,s:I}", "peer", t[i].name, "status", (json_int_t)t[i].status));
        if (t[i].e != NULL) {
            curl_multi_remove_handle(m, t[i].e);
            curl_easy_cleanup(t[i].e);
        }
        curl_slist_free_all(ct[i]);
    }
    if (p->o.log != NULL)
        clog_ev(p->o.log, CLOG_INFO, json_pack("{s:o,s:I}", "peers", list, "ms", (json_int_t)ms),
                "monitor: forwarded to %zu of %zu peer(s)", ok, n);
    else
        json_decref(list);
    curl_multi_cleanup(m);
    free(t);
}

static void *forwarder(void *arg)
{
    cs_peers_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->head == NULL)
            break;
        peers_job_t *j = p->head;
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        send_job(p, j);
        job_free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---------------------------------------------------------------- set-up */

/* "host[:port]" or "scheme://host[:port]" → a base URL into `out`. 0 or -1. */
static int base_url(const char *entry, size_t len, int tls, int self_port, char *out, size_t size)
{
    char e[300];
    if (len == 0 || len >= sizeof(e))
        return -1;
    memcpy(e, entry, len);
    e[len] = '\0';
    const char *scheme = tls ? "https" : "http";
    const char *host = e;
    char *sep = strstr(e, "://");
    if (sep != NULL) {
        *sep = '\0';
        if (strcmp(e, "http") != 0 && strcmp(e, "https") != 0)
            return -1;
        scheme = e;
        host = sep + 3;
    }
    if (*host == '\0' || strpbrk(host, "/?#@ ") != NULL)
        return -1;
    const char *colon = strrchr(host, ':');
    int has_port = colon != NULL && (host[0] != '[' || strchr(host, ']') < colon);
    if (has_port)
        snprintf(out, size, "%s://%s", scheme, host);
    else
        snprintf(out, size, "%s://%s:%d", scheme, host, self_port);
    return 0;
}

cs_peers_t *cs_peers_new(const cs_peers_opts_t *o, char *err, size_t errlen)
{
    cs_peers_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    p->o = *o;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        errbuf_set(err, errlen, "no randomness for the instance id");
        goto fail;
    }
    for (int i = 0; i < 16; i++)
        snprintf(p->id + 2 * i, 3, "%02x", rnd[i]);
    for (const char *s = o->list; s != NULL && *s != '\0';) {
        size_t len = strcspn(s, ",");
        while (len > 0 && (*s == ' ' || *s == '\t'))
            s++, len--;
        size_t l2 = len;
        while (l2 > 0 && (s[l2 - 1] == ' ' || s[l2 - 1] == '\t'))
            l2--;
        if (l2 > 0) {
            char url[640];
            char **nl = realloc(p->list, (p->nlist + 1) * sizeof(*nl));
            if (nl == NULL || p->nlist >= PEERS_MAX ||
                base_url(s, l2, o->tls, o->self_port, url, sizeof(url)) != 0) {
                if (nl != NULL)
                    p->list = nl;
                errbuf_set(err, errlen, "peer '%.*s': expected host:port or http(s)://host:port", (int)l2, s);
                goto fail;
            }
            p->list = nl;
            if ((p->list[p->nlist] = strdup(url)) == NULL)
                goto fail;
            p->nlist++;
        }
        s += len + (s[len] == ',');
    }
    if (o->dns != NULL && o->dns[0] != '\0') {
        snprintf(p->dns_name, sizeof(p->dns_name), "%s", o->dns);
        p->dns_port = o->self_port;
        char *colon = strrchr(p->dns_name, ':');
        if (colon != NULL) {
            char *end = NULL;
            long port = strtol(colon + 1, &end, 10);
            if (*end != '\0' || port < 1 || port > 65535) {
                errbuf_set(err, errlen, "peers DNS name '%s': expected name[:port]", o->dns);
                goto fail;
            }
            *colon = '\0';
            p->dns_port = (int)port;
        }
        if (p->dns_name[0] == '\0' || strpbrk(p->dns_name, "/?#@ []") != NULL) {
            errbuf_set(err, errlen, "peers DNS name '%s' is not a host name", o->dns);
            goto fail;
        }
    }
    if (pthread_create(&p->tid, NULL, forwarder, p) != 0) {
        errbuf_set(err, errlen, "cannot start the forwarding thread");
        goto fail;
    }
    p->running = 1;
    return p;
fail:
    cs_peers_free(p);
    return NULL;
}

void cs_peers_free(cs_peers_t *p)
{
    if (p == NULL)
        return;
    if (p->running) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->tid, NULL);
    }
    while (p->head != NULL) {
        peers_job_t *j = p->head;
        p->head = j->next;
        job_free(j);
    }
    for (size_t i = 0; i < p->nlist; i++)
        free(p->list[i]);
    free(p->list);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

const char *cs_peers_id(const cs_peers_t *p)
{
    return p->id;
}

/* ---------------------------------------------------------------- queueing a copy */

static struct curl_slist *add_hdr(struct curl_slist *l, const char *name, const char *value)
{
    char line[1024];
    if (value == NULL || strlen(value) > sizeof(line) - 64 || strpbrk(value, "\r\n") != NULL)
        return l;
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, line);
    return n != NULL ? n : l;
}

void cs_peers_forward(cs_peers_t *p, h2o_req_t *req)
{
    if (p == NULL || (p->nlist == 0 && p->dns_name[0] == '\0'))
        return;
    peers_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->len = req->entity.base != NULL ? req->entity.len : 0;
    j->body = malloc(j->len + 1);
    if (j->body == NULL) {
        free(j);
        return;
    }
    if (j->len > 0)
        memcpy(j->body, req->entity.base, j->len);
    j->body[j->len] = '\0';
    static const char *const keep[] = {"Content-Type",  "X-GitHub-Event", "X-Gitlab-Event",
                                       "X-Gitea-Event", "X-Gogs-Event",   "X-Event-Key"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        j->hdrs = add_hdr(j->hdrs, keep[i], httpd_header(req, keep[i]));
    j->hdrs = add_hdr(j->hdrs, PEERS_HOP_HEADER, p->id);
    j->hdrs = add_hdr(j->hdrs, "Expect", "");
    if (p->o.secret != NULL) {
        unsigned char mac[32];
        unsigned int ml = 0;
        char hex[80] = "sha256=";
        if (HMAC(EVP_sha256(), p->o.secret, (int)strlen(p->o.secret), (const unsigned char *)j->body, j->len,
                 mac, &ml) != NULL) {
            for (unsigned i = 0; i < ml; i++)
                snprintf(hex + 7 + 2 * i, 3, "%02x", mac[i]);
            j->hdrs = add_hdr(j->hdrs, "X-Hub-Signature-256", hex);
        }
    } else {
        j->hdrs = add_hdr(j->hdrs, "Authorization", httpd_header(req, "authorization"));
    }
    pthread_mutex_lock(&p->mu);
    peers_job_t *dropped = NULL;
    if (p->queued >= PEERS_QUEUE_MAX) {
        dropped = p->head;
        p->head = dropped->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
    }
    if (p->tail != NULL)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (dropped != NULL) {
        job_free(dropped);
        if (p->o.log != NULL)
            clog_warn(p->o.log, "monitor: %d forwards waiting; the oldest was dropped", PEERS_QUEUE_MAX);
    }
}

/* bench/tls.c -- see tls.h. */
#define _GNU_SOURCE
#include "tls.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl_ciphersuites.h>

static int fail(const char *what, int rc)
{
    char msg[160];
    mbedtls_strerror(rc, msg, sizeof msg);
    fprintf(stderr, "tls: %s: %s (-0x%04x)\n", what, msg, (unsigned)-rc);
    return -1;
}

static int btls_common(struct btls *t, int endpoint)
{
    static const char pers[] = "upopmail bench";
    int rc;
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->crt);
    mbedtls_pk_init(&t->key);
    rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                               (const unsigned char *)pers, sizeof pers - 1);
    if (rc) return fail("seeding the random generator", rc);
    rc = mbedtls_ssl_config_defaults(&t->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc) return fail("configuration defaults", rc);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    /* TLS 1.2, the newest that mbedTLS 2.28 speaks */
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    return 0;
}

int btls_server_init(struct btls *t, const char *cert, const char *key)
{
    int rc;
    if (btls_common(t, MBEDTLS_SSL_IS_SERVER)) return -1;
    rc = mbedtls_x509_crt_parse_file(&t->crt, cert);
    if (rc) return fail(cert, rc);
    rc = mbedtls_pk_parse_keyfile(&t->key, key, NULL);
    if (rc) return fail(key, rc);
    rc = mbedtls_ssl_conf_own_cert(&t->conf, &t->crt, &t->key);
    if (rc) return fail("own certificate", rc);
    return 0;
}

int btls_client_init(struct btls *t, const char *ca)
{
    /* the cheapest key exchanges of mbedTLS 2.28 first (P-256 1.8 ms, X25519 2.7 ms) */
    static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_CURVE25519,
                                                  MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
    int rc;
    if (btls_common(t, MBEDTLS_SSL_IS_CLIENT)) return -1;
    rc = mbedtls_x509_crt_parse_file(&t->crt, ca);
    if (rc) return fail(ca, rc);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->crt, NULL);
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_curves(&t->conf, curves);
    return 0;
}

void btls_free(struct btls *t)
{
    mbedtls_pk_free(&t->key);
    mbedtls_x509_crt_free(&t->crt);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
}

int tcp_listen(int port, int *bound)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        close(fd);
        return -1;
    }
    *bound = ntohs(a.sin_port);
    return fd;
}

int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, one = 1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res)) return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void bconn_init(struct bconn *c, int fd)
{
    int one = 1;
    memset(c, 0, offsetof(struct bconn, ra));
    c->ra_pos = c->ra_len = 0;
    c->wire_in = c->wire_out = 0;
    c->curve = "";
    c->fd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    mbedtls_ssl_init(&c->ssl);
}

/* One recv() into the read-ahead buffer (which must be empty or fully kept). */
static long fill(struct bconn *c)
{
    ssize_t n;
    if (c->ra_pos == c->ra_len) c->ra_pos = c->ra_len = 0;
    if (c->ra_len == sizeof c->ra) return 0;
    do n = recv(c->fd, c->ra + c->ra_len, sizeof c->ra - c->ra_len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        c->ra_len += (size_t)n;
        c->wire_in += (uint64_t)n;
    }
    return n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct bconn *c = ctx;
    size_t n;
    if (c->ra_pos == c->ra_len) {
        long r = fill(c);
        if (r < 0) return MBEDTLS_ERR_NET_RECV_FAILED;
        if (r == 0) return 0;
    }
    n = c->ra_len - c->ra_pos < len ? c->ra_len - c->ra_pos : len;
    memcpy(buf, c->ra + c->ra_pos, n);
    c->ra_pos += n;
    return (int)n;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct bconn *c = ctx;
    ssize_t n;
    do n = send(c->fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) return MBEDTLS_ERR_NET_SEND_FAILED;
    c->wire_out += (uint64_t)n;
    return (int)n;
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* The client's cipher suites and groups from the ClientHello in the read-ahead buffer, each
 * kept only when mbedTLS offers it by default, in the client's order. 0, or -1 when the
 * hello cannot be read (the defaults apply then). */
static int client_preferences(struct bconn *c)
{
    const unsigned char *p, *end;
    const int *dflt;
    size_t ns = 0, ng = 0;
    unsigned len, i;
    while (c->ra_len - c->ra_pos < 5 ||
           c->ra_len - c->ra_pos < 5 + get16(c->ra + c->ra_pos + 3))
        if (fill(c) <= 0) return -1;
    p = c->ra + c->ra_pos;
    end = p + 5 + get16(p + 3);
    if (p[0] != 22 || p[5] != 1) return -1; /* handshake record, ClientHello */
    p += 5 + 4 + 2 + 32;                    /* headers, version, random */
    if (p + 1 > end || (p += 1 + p[0]) + 2 > end) return -1; /* session id */
    len = get16(p);
    if ((p += 2) + len > end) return -1;
    for (i = 0; i + 1 < len; i += 2) {
        int id = (int)get16(p + i), k;
        for (dflt = mbedtls_ssl_list_ciphersuites(), k = 0; dflt[k]; k++)
            if (dflt[k] == id && ns + 1 < sizeof c->suites / sizeof c->suites[0]) c->suites[ns++] = id;
    }
    c->suites[ns] = 0;
    p += len;
    if (p + 1 > end || (p += 1 + p[0]) + 2 > end) return -1; /* compression methods */
    end = p + 2 + get16(p) <= end ? p + 2 + get16(p) : end;
    for (p += 2; p + 4 <= end; p += 4 + get16(p + 2)) {
        const unsigned char *q = p + 4, *qend;
        if (get16(p) != 10) continue; /* supported_groups */
        qend = q + 2 + get16(q) <= end ? q + 2 + get16(q) : end;
        for (q += 2; q + 2 <= qend; q += 2) {
            const mbedtls_ecp_curve_info *ci = mbedtls_ecp_curve_info_from_tls_id((uint16_t)get16(q));
            const mbedtls_ecp_group_id *g;
            if (!ci) continue;
            for (g = mbedtls_ecp_grp_id_list(); *g != MBEDTLS_ECP_DP_NONE; g++)
                if (*g == ci->grp_id && ng + 1 < sizeof c->curves / sizeof c->curves[0]) {
                    if (ng == 0) c->curve = ci->name;
                    c->curves[ng++] = ci->grp_id;
                }
        }
    }
    c->curves[ng] = MBEDTLS_ECP_DP_NONE;
    return ns && ng ? 0 : -1;
}

static int handshake(struct bconn *c, struct btls *t, const char *host)
{
    int rc = mbedtls_ssl_setup(&c->ssl, &t->conf);
    if (rc) return fail("session setup", rc);
    if (host && (rc = mbedtls_ssl_set_hostname(&c->ssl, host))) return fail("host name", rc);
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    while ((rc = mbedtls_ssl_handshake(&c->ssl)) != 0)
        if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) return fail("handshake", rc);
    c->tls = 1;
    return 0;
}

int bconn_tls_accept(struct bconn *c, struct btls *t)
{
    int rc;
    if (client_preferences(c) == 0) {
        mbedtls_ssl_conf_ciphersuites(&t->conf, c->suites);
        mbedtls_ssl_conf_curves(&t->conf, c->curves);
    }
    rc = handshake(c, t, NULL);
    /* the lists are only read during a handshake: back to the defaults, which outlive c */
    mbedtls_ssl_conf_ciphersuites(&t->conf, mbedtls_ssl_list_ciphersuites());
    mbedtls_ssl_conf_curves(&t->conf, mbedtls_ecp_grp_id_list());
    if (rc == 0) {
        const mbedtls_ssl_ciphersuite_t *s = mbedtls_ssl_ciphersuite_from_id(
            mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&c->ssl)));
        if (!s || !mbedtls_ssl_ciphersuite_uses_ec(s)) c->curve = "";
    }
    return rc;
}

int bconn_tls_connect(struct bconn *c, struct btls *t, const char *host)
{
    return handshake(c, t, host);
}

long bconn_read(struct bconn *c, void *buf, size_t cap)
{
    ssize_t n;
    if (c->tls) {
        int rc;
        do rc = mbedtls_ssl_read(&c->ssl, buf, cap);
        while (rc == MBEDTLS_ERR_SSL_WANT_READ);
        if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return 0;
        return rc < 0 ? -1 : rc;
    }
    if (c->ra_pos < c->ra_len) {
        n = (ssize_t)(c->ra_len - c->ra_pos < cap ? c->ra_len - c->ra_pos : cap);
        memcpy(buf, c->ra + c->ra_pos, (size_t)n);
        c->ra_pos += (size_t)n;
        return n;
    }
    do n = recv(c->fd, buf, cap, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) c->wire_in += (uint64_t)n;
    return n;
}

int bconn_write(struct bconn *c, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        int n = c->tls ? mbedtls_ssl_write(&c->ssl, p, len) : bio_send(c, p, len);
        if (n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void bconn_close(struct bconn *c)
{
    if (c->tls) mbedtls_ssl_close_notify(&c->ssl);
    mbedtls_ssl_free(&c->ssl);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->tls = 0;
}

const char *bconn_suite(struct bconn *c)
{
    return c->tls ? mbedtls_ssl_get_ciphersuite(&c->ssl) : "none";
}

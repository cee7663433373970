/* bench/tls.h -- what the bench's own C programs (the sink and the limit client) share: a
 * loopback TCP connection with an optional mbedTLS session on top, a read-ahead receive path
 * under mbedTLS (one recv() fills up to 64 KiB, so a record costs no extra system calls), the
 * count of bytes on the wire, and the one TLS setup of each side. */
#ifndef BENCH_TLS_H
#define BENCH_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define BCONN_READAHEAD (64 * 1024)

/* One side's TLS configuration: the server's certificate and key, or the client's CA. */
struct btls {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt crt; /* server: own chain; client: the trusted CA */
    mbedtls_pk_context key;
};

struct bconn {
    int fd;
    int tls; /* 1 once the handshake is done */
    mbedtls_ssl_context ssl;
    unsigned char ra[BCONN_READAHEAD]; /* bytes read from the socket, not yet given to mbedTLS */
    size_t ra_pos, ra_len;
    uint64_t wire_in, wire_out; /* bytes through the socket, TLS records included */
    /* server side: the client's preferences, copied from its ClientHello (see tls_accept) */
    int suites[256];
    mbedtls_ecp_group_id curves[64];
    const char *curve; /* the group that the handshake uses (server side), or "" */
};

/* Server: loads CERT (the chain, leaf first) and KEY; 0 or -1 with a message on stderr. */
int btls_server_init(struct btls *t, const char *cert, const char *key);
/* Client: trusts CA alone, verifies the peer's certificate and host name. */
int btls_client_init(struct btls *t, const char *ca);
void btls_free(struct btls *t);

/* Listens on 127.0.0.1:port (0: any free port); returns the socket and the port in *bound. */
int tcp_listen(int port, int *bound);
/* Connects to host:port (TCP_NODELAY); returns the socket or -1. */
int tcp_connect(const char *host, const char *port);

void bconn_init(struct bconn *c, int fd);
/* Server side of STARTTLS/STLS (or implicit TLS): reads the ClientHello, orders the curves
 * and cipher suites as the client does (what OpenSSL-based servers such as Dovecot and Postfix
 * do by default; mbedTLS alone would impose its own order), then completes the handshake. */
int bconn_tls_accept(struct bconn *c, struct btls *t);
/* Client side: handshake with host name verification against the CA of btls_client_init. */
int bconn_tls_connect(struct bconn *c, struct btls *t, const char *host);
/* Reads what is there (at most one TLS record); >0 bytes, 0 end, -1 error. */
long bconn_read(struct bconn *c, void *buf, size_t cap);
/* Writes everything (whole TLS records of up to 16 KiB); 0 or -1. */
int bconn_write(struct bconn *c, const void *buf, size_t len);
/* close_notify (when TLS), close, and the TLS session freed. */
void bconn_close(struct bconn *c);
const char *bconn_suite(struct bconn *c);

#endif

/* bench/limit.c -- the "limit" client of the bench: the least a client can do on the wire, to
 * show how far the others are from it. mbedTLS (tls.c), every command pipelined that the server
 * lets it pipeline, whole 64 KiB writes, the replies read in windows.
 *   limit send  HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]
 *   limit pop   HOST PORT USER PASS CA COUNT
 *   limit login HOST PORT USER PASS CA COUNT
 * send: STARTTLS, AUTH PLAIN; with CHUNKING, MAIL, RCPT and BDAT <n> LAST with the message,
 * up to 64 messages ahead of their replies; without it, one round trip per message (the
 * content waits for 354; the dot goes out with the next MAIL, RCPT and DATA). With FILE, one
 * message: a text part and FILE in base64, in BDAT chunks of 1 MiB (or DATA).
 * pop: STLS, USER and PASS, then RETR 1..COUNT with up to 64 outstanding.
 * login: connect, EHLO+STARTTLS, handshake, EHLO+AUTH PLAIN+QUIT in one write.
 * The generated text never has a line that starts with a dot, so nothing is stuffed.
 * Prints the result line of common.h; exits 1 at the first failure. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <mbedtls/base64.h>

#include "attach.h"
#include "common.h"
#include "tls.h"

#define WINDOW 64
#define OUT_CAP (64 * 1024)
#define CHUNK (1024 * 1024)

static struct btls tls;
static struct bconn conn;
static char in[256 * 1024];
static size_t in_pos, in_len;
static char out[OUT_CAP];
static size_t out_len;

static void die(const char *what)
{
    fprintf(stderr, "limit: %s\n", what);
    exit(1);
}

static void flush(void)
{
    if (out_len && bconn_write(&conn, out, out_len)) die("write failed");
    out_len = 0;
}

static void put(const void *data, size_t n)
{
    if (out_len + n > OUT_CAP) flush();
    if (n >= OUT_CAP) {
        if (bconn_write(&conn, data, n)) die("write failed");
        return;
    }
    memcpy(out + out_len, data, n);
    out_len += n;
}

static void puts_(const char *s) { put(s, strlen(s)); }

static void fill_in(void)
{
    long n;
    if (in_pos == in_len) in_pos = in_len = 0;
    if (in_pos > 0 && sizeof in - in_len < 32 * 1024) {
        memmove(in, in + in_pos, in_len - in_pos);
        in_len -= in_pos;
        in_pos = 0;
    }
    n = bconn_read(&conn, in + in_len, sizeof in - in_len);
    if (n <= 0) die("connection closed by the server");
    in_len += (size_t)n;
}

/* the next line, CRLF stripped; valid until the next read */
static char *line(void)
{
    char *p, *nl;
    while (!(nl = memchr(in + in_pos, '\n', in_len - in_pos))) fill_in();
    p = in + in_pos;
    in_pos = (size_t)(nl - in) + 1;
    *nl = '\0';
    if (nl > p && nl[-1] == '\r') nl[-1] = '\0';
    return p;
}

/* One SMTP reply (all its lines); dies unless its code starts with digit. Returns the text of
 * all lines, each after its "NNN-", in a static buffer (for the EHLO keywords). */
static const char *reply(char digit)
{
    static char text[4096];
    size_t len = 0;
    char *l;
    do {
        l = line();
        if (strlen(l) < 3 || l[0] != digit) {
            fprintf(stderr, "limit: unexpected reply: %s\n", l);
            exit(1);
        }
        if (strlen(l) > 4 && len + strlen(l) < sizeof text) len += (size_t)sprintf(text + len, "%s\n", l + 4);
    } while (l[3] == '-');
    text[len] = '\0';
    return text;
}

static void pop_ok(void)
{
    char *l = line();
    if (strncmp(l, "+OK", 3) != 0) {
        fprintf(stderr, "limit: unexpected reply: %s\n", l);
        exit(1);
    }
}

static void connect_to(const char *host, const char *port)
{
    int fd = tcp_connect(host, port);
    if (fd < 0) die("cannot connect");
    bconn_init(&conn, fd);
    in_pos = in_len = out_len = 0;
}

static void starttls(const char *host)
{
    if (bconn_tls_connect(&conn, &tls, host)) die("TLS handshake failed");
}

static void auth_plain(const char *user, const char *pass)
{
    unsigned char raw[512], b64[700];
    size_t n = (size_t)snprintf((char *)raw, sizeof raw, "%c%s%c%s", 0, user, 0, pass), len;
    mbedtls_base64_encode(b64, sizeof b64, &len, raw, n);
    puts_("AUTH PLAIN ");
    put(b64, len);
    puts_("\r\n");
}

/* Connects, STARTTLS, EHLO, AUTH PLAIN; returns whether the server offers CHUNKING. */
static int smtp_logon(const char *host, const char *port, const char *user, const char *pass)
{
    int chunking;
    connect_to(host, port);
    reply('2');
    puts_("EHLO limit.bench.invalid\r\nSTARTTLS\r\n");
    flush();
    reply('2');
    reply('2');
    starttls(host);
    puts_("EHLO limit.bench.invalid\r\n");
    auth_plain(user, pass);
    flush();
    chunking = strstr(reply('2'), "\nCHUNKING\n") != NULL;
    reply('2');
    return chunking;
}

static void quit_close(int pop)
{
    puts_("QUIT\r\n");
    flush();
    if (pop) pop_ok();
    else reply('2');
    bconn_close(&conn);
}

/* The W3 message in BDAT chunks of 1 MiB (each chunk's reply read one chunk later), or as
 * the content after DATA; MAIL's and RCPT's replies (not read yet) come first. */
static void send_attachment(struct bench_attach *a, int chunking)
{
    static char chunk[CHUNK];
    int pending = 2;
    if (!chunking) {
        puts_("DATA\r\n");
        flush();
        reply('2');
        reply('2');
        reply('3');
        pending = 0;
    }
    for (;;) {
        size_t n = bench_attach_read(a, chunk, sizeof chunk);
        int last = bench_attach_done(a);
        if (chunking) {
            char cmd[64];
            snprintf(cmd, sizeof cmd, "BDAT %zu%s\r\n", n, last ? " LAST" : "");
            puts_(cmd);
            pending++;
        }
        put(chunk, n);
        if (last) break;
        for (; pending > 2; pending--) {
            flush();
            reply('2');
        }
    }
    if (!chunking) {
        puts_(".\r\n");
        pending = 1;
    }
    flush();
    for (; pending > 0; pending--) reply('2');
}

static uint64_t send_mail(int argc, char **argv, long count)
{
    const char *host = argv[2], *from = argv[7], *to = argv[8], *file = argc == 12 ? argv[11] : NULL;
    size_t size = (size_t)atol(argv[10]);
    char envelope[2300], *msg = malloc(size + 2048), *body = malloc(size);
    int chunking = smtp_logon(host, argv[3], argv[4], argv[5]), len;
    long i, acked = 0;
    if (!msg || !body) die("out of memory");
    bench_fill_lines(body, size);
    snprintf(envelope, sizeof envelope, "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n", from, to);
    if (file) {
        static struct bench_attach a;
        struct stat st;
        if (stat(file, &st) || bench_attach_open(&a, file, from, to, body, size)) die("cannot open the file");
        puts_(envelope);
        send_attachment(&a, chunking);
        quit_close(0);
        return size + (uint64_t)st.st_size;
    }
    for (i = 0; i < count; i++) {
        char bdat[64];
        len = snprintf(msg, 2048, "From: %s\r\nTo: %s\r\nSubject: bench message %ld\r\nMIME-Version: 1.0\r\n"
                                  "Content-Type: text/plain; charset=us-ascii\r\n\r\n", from, to, i + 1);
        memcpy(msg + len, body, size);
        puts_(envelope);
        if (chunking) {
            snprintf(bdat, sizeof bdat, "BDAT %zu LAST\r\n", (size_t)len + size);
            puts_(bdat);
            put(msg, (size_t)len + size);
            if (i + 1 - acked >= WINDOW) { /* read the older half of the window */
                flush();
                for (; i + 1 - acked > WINDOW / 2; acked++) {
                    reply('2');
                    reply('2');
                    reply('2');
                }
            }
        } else {
            puts_("DATA\r\n");
            flush();
            if (i > 0) reply('2'); /* the previous message */
            reply('2');
            reply('2');
            reply('3');
            put(msg, (size_t)len + size);
            puts_(".\r\n");
        }
    }
    flush();
    if (chunking)
        for (; acked < count; acked++) {
            reply('2');
            reply('2');
            reply('2');
        }
    else if (count > 0)
        reply('2');
    quit_close(0);
    free(msg);
    free(body);
    return (uint64_t)count * size;
}

static uint64_t pop_mail(char **argv, long count)
{
    uint64_t bytes = 0;
    long sent = 0, done = 0;
    char cmd[64];
    connect_to(argv[2], argv[3]);
    pop_ok();
    puts_("STLS\r\n");
    flush();
    pop_ok();
    starttls(argv[2]);
    puts_("USER ");
    puts_(argv[4]);
    puts_("\r\nPASS ");
    puts_(argv[5]);
    puts_("\r\n");
    flush();
    pop_ok();
    pop_ok();
    while (done < count) {
        int at_bol = 1, end;
        if (sent - done <= WINDOW / 2) {
            for (; sent < count && sent - done < WINDOW; sent++) {
                snprintf(cmd, sizeof cmd, "RETR %ld\r\n", sent + 1);
                puts_(cmd);
            }
            flush();
        }
        pop_ok();
        for (;;) {
            in_pos += bench_dot_scan(in + in_pos, in_len - in_pos, &at_bol, &bytes, &end);
            if (end) break;
            fill_in();
        }
        done++;
    }
    quit_close(1);
    return bytes;
}

static void login(char **argv, long count)
{
    long i;
    for (i = 0; i < count; i++) {
        connect_to(argv[2], argv[3]);
        reply('2');
        puts_("EHLO limit.bench.invalid\r\nSTARTTLS\r\n");
        flush();
        reply('2');
        reply('2');
        starttls(argv[2]);
        puts_("EHLO limit.bench.invalid\r\n");
        auth_plain(argv[4], argv[5]);
        puts_("QUIT\r\n");
        flush();
        reply('2');
        reply('2');
        reply('2');
        bconn_close(&conn);
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    long count;
    uint64_t bytes = 0;
    double t0;
    if (!((strcmp(mode, "send") == 0 && (argc == 11 || argc == 12)) ||
          ((strcmp(mode, "pop") == 0 || strcmp(mode, "login") == 0) && argc == 8))) {
        fprintf(stderr, "usage: limit send HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]\n"
                        "       limit pop|login HOST PORT USER PASS CA COUNT\n");
        return 2;
    }
    count = atol(argv[7 + 2 * (mode[0] == 's')]);
    if (btls_client_init(&tls, argv[6])) return 1;
    t0 = bench_now();
    if (mode[0] == 's') bytes = send_mail(argc, argv, count);
    else if (mode[0] == 'p') bytes = pop_mail(argv, count);
    else login(argv, count);
    bench_result(count, bytes, bench_now() - t0);
    btls_free(&tls);
    return 0;
}

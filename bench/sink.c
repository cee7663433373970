/* bench/sink.c -- the bench's fast local mail server: an SMTP sink and a POP3 server of a
 * synthetic mailbox, over mbedTLS, answering at once and counting what passes.
 *
 * usage: sink CERT KEY STATS_FILE PORTS_FILE [-v]
 * Listens on three free loopback ports, written to PORTS_FILE once listening:
 *   smtp_chunking=P   SMTP offering PIPELINING, STARTTLS, AUTH PLAIN (after TLS), CHUNKING
 *   smtp_data=P       the same without CHUNKING (DATA only)
 *   pop3=P            POP3 with STLS, USER/PASS (after TLS), PIPELINING, TOP, UIDL
 * SMTP accepts user "bench", password "benchpass"; MAIL needs that AUTH. DATA (dot-unstuffed)
 * and BDAT <n> [LAST] are both accepted; every message is counted with its size.
 * POP3 user "box-N-S" with password "benchpass" opens a mailbox of N messages of exactly S
 * bytes each (CRLF lines of common.h's text under a few header fields; S >= 512).
 * One connection at a time (the bench runs one client at a time); for each session one line
 * is appended to STATS_FILE, before the QUIT reply, so that a client that has seen its QUIT
 * answered finds its line there:
 *   smtp port=chunking|data suite=S curve=C auth=0|1 msgs=N bytes=B min=M max=X bdat=K data=D
 *        wire_in=I wire_out=O quit=0|1
 *   pop3 suite=S curve=C auth=0|1 box=N-S retr=R bytes=B wire_in=I wire_out=O quit=0|1
 * -v traces every command to stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "common.h"
#include "tls.h"

#define SMTP_USER "bench"
#define PASSWORD "benchpass"
#define IN_CAP (128 * 1024)
#define OUT_CAP (64 * 1024)
#define MAX_LINE 8192

enum { NEED_INPUT, QUIT, STARTTLS, DROP };
enum { CMD, AUTH_WAIT, DATA, BDAT };

struct sess {
    struct bconn *c;
    int verbose;
    char in[IN_CAP];
    size_t in_pos, in_len;
    char out[OUT_CAP];
    size_t out_len;
    int out_failed;
    int authed, quit;
    /* SMTP */
    int chunking, mode, have_mail, rcpts, at_bol, in_bdat, bdat_last, bdat_ok;
    uint64_t bdat_left, cur, msgs, bytes, min, max, bdat_msgs, data_msgs;
    /* POP3 */
    char user[64];
    long box_n, box_s;
    char *body; /* the message text under the header */
    size_t body_len;
    uint64_t retr;
};

static FILE *stats;

static void flush_out(struct sess *s)
{
    if (s->out_len && !s->out_failed && bconn_write(s->c, s->out, s->out_len)) s->out_failed = 1;
    s->out_len = 0;
}

static void put(struct sess *s, const void *data, size_t n)
{
    if (s->out_len + n > OUT_CAP) flush_out(s);
    if (n >= OUT_CAP) {
        if (!s->out_failed && bconn_write(s->c, data, n)) s->out_failed = 1;
        return;
    }
    memcpy(s->out + s->out_len, data, n);
    s->out_len += n;
}

static void reply(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct sess *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof line - 3) n = (int)sizeof line - 3;
    if (s->verbose) fprintf(stderr, "S: %.*s\n", n, line);
    line[n] = '\r';
    line[n + 1] = '\n';
    put(s, line, (size_t)n + 2);
}

/* The next command line (CRLF or LF stripped, NUL-terminated in place), or NULL. */
static char *next_line(struct sess *s)
{
    char *p = s->in + s->in_pos, *nl = memchr(p, '\n', s->in_len - s->in_pos);
    if (!nl) return NULL;
    s->in_pos = (size_t)(nl - s->in) + 1;
    *nl = '\0';
    if (nl > p && nl[-1] == '\r') nl[-1] = '\0';
    if (s->verbose) fprintf(stderr, "C: %s\n", p);
    return p;
}

static int is_cmd(const char *line, const char *cmd)
{
    size_t n = strlen(cmd);
    return strncasecmp(line, cmd, n) == 0 && (line[n] == '\0' || line[n] == ' ');
}

/* AUTH PLAIN's response: [authzid] NUL user NUL password, in base64. */
static int plain_ok(const char *b64)
{
    unsigned char raw[512];
    size_t n = 0;
    const unsigned char *user, *pass;
    if (mbedtls_base64_decode(raw, sizeof raw - 1, &n, (const unsigned char *)b64, strlen(b64))) return 0;
    raw[n] = '\0';
    user = memchr(raw, '\0', n);
    if (!user) return 0;
    user++;
    pass = memchr(user, '\0', n - (size_t)(user - raw));
    if (!pass) return 0;
    pass++;
    return strcmp((const char *)user, SMTP_USER) == 0 && (size_t)(pass - raw) + strlen(PASSWORD) == n &&
           memcmp(pass, PASSWORD, strlen(PASSWORD)) == 0;
}

static void message_done(struct sess *s, int bdat)
{
    s->msgs++;
    s->bytes += s->cur;
    if (s->msgs == 1 || s->cur < s->min) s->min = s->cur;
    if (s->cur > s->max) s->max = s->cur;
    if (bdat) s->bdat_msgs++;
    else s->data_msgs++;
    s->have_mail = s->rcpts = s->in_bdat = 0;
}

static void smtp_reset(struct sess *s)
{
    s->have_mail = s->rcpts = s->in_bdat = 0;
    s->cur = 0;
}

static void smtp_ehlo(struct sess *s, const char *line)
{
    smtp_reset(s);
    if (is_cmd(line, "HELO")) {
        reply(s, "250 sink.bench.invalid");
        return;
    }
    reply(s, "250-sink.bench.invalid");
    reply(s, "250-PIPELINING");
    reply(s, "250-8BITMIME");
    reply(s, "250-SIZE");
    reply(s, "250-ENHANCEDSTATUSCODES");
    if (s->chunking) reply(s, "250-CHUNKING");
    if (s->c->tls) reply(s, "250 AUTH PLAIN");
    else reply(s, "250 STARTTLS");
}

static void smtp_auth(struct sess *s, const char *response)
{
    s->mode = CMD;
    if (strcmp(response, "*") == 0) {
        reply(s, "501 5.0.0 Authentication cancelled");
    } else if (plain_ok(response)) {
        s->authed = 1;
        reply(s, "235 2.7.0 Authentication successful");
    } else {
        reply(s, "535 5.7.8 Authentication credentials invalid");
    }
}

static void smtp_bdat(struct sess *s, const char *line)
{
    char *end;
    unsigned long long n = strtoull(line + 5, &end, 10);
    while (*end == ' ') end++;
    if (end == line + 5 || (*end && strcasecmp(end, "LAST") != 0)) {
        reply(s, "501 5.5.4 Syntax: BDAT <size> [LAST]");
        return;
    }
    s->bdat_ok = s->chunking && s->rcpts > 0;
    if (s->bdat_ok && !s->in_bdat) {
        s->in_bdat = 1;
        s->cur = 0;
    }
    s->mode = BDAT;
    s->bdat_left = n;
    s->bdat_last = *end != '\0';
}

static void smtp_bdat_done(struct sess *s)
{
    s->mode = CMD;
    if (!s->bdat_ok) {
        reply(s, s->chunking ? "503 5.5.1 No recipients" : "502 5.5.1 CHUNKING not offered");
        return;
    }
    if (!s->bdat_last) {
        reply(s, "250 2.0.0 %llu octets received", (unsigned long long)s->cur);
        return;
    }
    reply(s, "250 2.0.0 Ok: %llu octets queued", (unsigned long long)s->cur);
    message_done(s, 1);
}

static void smtp_command(struct sess *s, char *line, int *result)
{
    if (is_cmd(line, "EHLO") || is_cmd(line, "HELO")) {
        smtp_ehlo(s, line);
    } else if (is_cmd(line, "STARTTLS")) {
        if (s->c->tls) {
            reply(s, "503 5.5.1 TLS already active");
        } else {
            reply(s, "220 2.0.0 Ready to start TLS");
            *result = STARTTLS;
        }
    } else if (is_cmd(line, "AUTH")) {
        if (!s->c->tls) reply(s, "538 5.7.11 Encryption required");
        else if (s->authed) reply(s, "503 5.5.1 Already authenticated");
        else if (strncasecmp(line + 4, " PLAIN", 6) != 0 || (line[10] != '\0' && line[10] != ' '))
            reply(s, "504 5.5.4 Mechanism not supported");
        else if (line[10] == ' ') smtp_auth(s, line + 11);
        else {
            s->mode = AUTH_WAIT;
            reply(s, "334 ");
        }
    } else if (is_cmd(line, "MAIL")) {
        if (!s->authed) reply(s, "530 5.7.0 Authentication required");
        else if (s->have_mail) reply(s, "503 5.5.1 MAIL already given");
        else {
            s->have_mail = 1;
            reply(s, "250 2.1.0 Ok");
        }
    } else if (is_cmd(line, "RCPT")) {
        if (!s->have_mail) reply(s, "503 5.5.1 MAIL first");
        else {
            s->rcpts++;
            reply(s, "250 2.1.5 Ok");
        }
    } else if (is_cmd(line, "DATA")) {
        if (!s->rcpts || s->in_bdat) reply(s, "503 5.5.1 No recipients");
        else {
            s->mode = DATA;
            s->at_bol = 1;
            s->cur = 0;
            reply(s, "354 End data with <CR><LF>.<CR><LF>");
        }
    } else if (is_cmd(line, "BDAT")) {
        smtp_bdat(s, line);
    } else if (is_cmd(line, "RSET")) {
        smtp_reset(s);
        reply(s, "250 2.0.0 Ok");
    } else if (is_cmd(line, "NOOP")) {
        reply(s, "250 2.0.0 Ok");
    } else if (is_cmd(line, "QUIT")) {
        s->quit = 1;
        *result = QUIT;
    } else {
        reply(s, "502 5.5.2 Command not recognised");
    }
}

/* Everything that the input holds; what to do next. */
static int smtp_process(struct sess *s)
{
    for (;;) {
        int result = NEED_INPUT;
        char *line;
        if (s->mode == DATA) {
            int done;
            s->in_pos += bench_dot_scan(s->in + s->in_pos, s->in_len - s->in_pos, &s->at_bol, &s->cur, &done);
            if (!done) return NEED_INPUT;
            s->mode = CMD;
            reply(s, "250 2.0.0 Ok: %llu octets queued", (unsigned long long)s->cur);
            message_done(s, 0);
            continue;
        }
        if (s->mode == BDAT) {
            size_t n = s->in_len - s->in_pos;
            if (n > s->bdat_left) n = (size_t)s->bdat_left;
            s->in_pos += n;
            s->bdat_left -= n;
            if (s->bdat_ok) s->cur += n;
            if (s->bdat_left) return NEED_INPUT;
            smtp_bdat_done(s);
            continue;
        }
        line = next_line(s);
        if (!line) return s->in_len - s->in_pos > MAX_LINE ? DROP : NEED_INPUT;
        if (s->mode == AUTH_WAIT) smtp_auth(s, line);
        else smtp_command(s, line, &result);
        if (result != NEED_INPUT) return result;
    }
}

/* ------------------------------------------------------------------ POP3 */

static const char pop_header[] = "From: Bench Sink <sink@bench.invalid>\r\n"
                                 "To: <bench@bench.invalid>\r\n"
                                 "Subject: bench message 0000000\r\n"
                                 "Message-ID: <0000000@sink.bench.invalid>\r\n"
                                 "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
                                 "MIME-Version: 1.0\r\n"
                                 "Content-Type: text/plain; charset=us-ascii\r\n"
                                 "\r\n";
#define POP_HEADER_LEN (sizeof pop_header - 1)

/* message n's header (with its number twice, 7 digits) into out */
static void pop_header_of(long n, char *out)
{
    char digits[16];
    snprintf(digits, sizeof digits, "%07lu", (unsigned long)n % 10000000);
    memcpy(out, pop_header, POP_HEADER_LEN);
    memcpy(strstr(out, "message 0000000") + 8, digits, 7);
    memcpy(strstr(out, "<0000000@") + 1, digits, 7);
}

static int pop_open_box(struct sess *s)
{
    long n, size;
    char tail;
    if (sscanf(s->user, "box-%ld-%ld%c", &n, &size, &tail) != 2 || n < 0 || n > 1000000 ||
        size < 512 || size > 256L * 1024 * 1024)
        return -1;
    free(s->body);
    s->body_len = (size_t)size - POP_HEADER_LEN;
    s->body = malloc(s->body_len);
    if (!s->body) return -1;
    bench_fill_lines(s->body, s->body_len);
    s->box_n = n;
    s->box_s = size;
    return 0;
}

/* message number argument: 1..box_n, else 0 */
static long pop_nr(const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);
    return end != arg && n >= 1 ? n : 0;
}

static void pop_message(struct sess *s, long n, long top_lines)
{
    char header[POP_HEADER_LEN];
    size_t body = s->body_len;
    pop_header_of(n, header);
    put(s, header, POP_HEADER_LEN);
    if (top_lines >= 0) {
        const char *p = s->body, *end = s->body + s->body_len;
        for (; top_lines > 0 && p < end; top_lines--) p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
        body = (size_t)(p - s->body);
    }
    put(s, s->body, body);
    put(s, ".\r\n", 3);
}

static void pop_command(struct sess *s, char *line, int *result)
{
    char *arg = strchr(line, ' ');
    long n = 0;
    arg = arg ? arg + 1 : line + strlen(line);
    if (is_cmd(line, "CAPA")) {
        reply(s, "+OK Capability list follows");
        reply(s, "USER");
        reply(s, "PIPELINING");
        reply(s, "TOP");
        reply(s, "UIDL");
        if (!s->c->tls) reply(s, "STLS");
        reply(s, ".");
        return;
    }
    if (is_cmd(line, "STLS")) {
        if (s->c->tls) reply(s, "-ERR TLS already active");
        else {
            reply(s, "+OK Begin TLS negotiation");
            *result = STARTTLS;
        }
        return;
    }
    if (is_cmd(line, "QUIT")) {
        s->quit = 1;
        *result = QUIT;
        return;
    }
    if (is_cmd(line, "NOOP")) {
        reply(s, "+OK");
        return;
    }
    if (!s->authed) {
        if (is_cmd(line, "USER")) {
            snprintf(s->user, sizeof s->user, "%s", arg);
            reply(s, "+OK");
        } else if (is_cmd(line, "PASS")) {
            if (!s->c->tls) reply(s, "-ERR [AUTH] TLS required");
            else if (strcmp(arg, PASSWORD) != 0 || pop_open_box(s)) reply(s, "-ERR [AUTH] Authentication failed");
            else {
                s->authed = 1;
                reply(s, "+OK %ld messages", s->box_n);
            }
        } else {
            reply(s, "-ERR Not logged in");
        }
        return;
    }
    if ((is_cmd(line, "LIST") || is_cmd(line, "UIDL") || is_cmd(line, "RETR") || is_cmd(line, "TOP") ||
         is_cmd(line, "DELE")) &&
        *arg && ((n = pop_nr(arg)) == 0 || n > s->box_n)) {
        reply(s, "-ERR No such message");
    } else if (is_cmd(line, "STAT")) {
        reply(s, "+OK %ld %lld", s->box_n, (long long)s->box_n * s->box_s);
    } else if (is_cmd(line, "LIST") || is_cmd(line, "UIDL")) {
        int list = is_cmd(line, "LIST");
        if (n) {
            if (list) reply(s, "+OK %ld %ld", n, s->box_s);
            else reply(s, "+OK %ld b%07ld", n, n);
        } else {
            char item[48];
            reply(s, "+OK %ld messages", s->box_n);
            for (n = 1; n <= s->box_n; n++) {
                int len = list ? snprintf(item, sizeof item, "%ld %ld\r\n", n, s->box_s)
                               : snprintf(item, sizeof item, "%ld b%07ld\r\n", n, n);
                put(s, item, (size_t)len);
            }
            put(s, ".\r\n", 3);
        }
    } else if (is_cmd(line, "RETR") && n) {
        reply(s, "+OK %ld octets", s->box_s);
        pop_message(s, n, -1);
        s->retr++;
        s->bytes += (uint64_t)s->box_s;
    } else if (is_cmd(line, "TOP") && n) {
        const char *count = strchr(arg, ' ');
        char *end;
        long lines = count ? strtol(count + 1, &end, 10) : -1;
        if (!count || end == count + 1 || lines < 0) reply(s, "-ERR Syntax: TOP msg n");
        else {
            reply(s, "+OK");
            pop_message(s, n, lines);
        }
    } else if (is_cmd(line, "DELE") && n) {
        reply(s, "+OK Marked to be deleted");
    } else if (is_cmd(line, "RSET")) {
        reply(s, "+OK");
    } else {
        reply(s, "-ERR Unknown command");
    }
}

static int pop_process(struct sess *s)
{
    for (;;) {
        int result = NEED_INPUT;
        char *line = next_line(s);
        if (!line) return s->in_len - s->in_pos > MAX_LINE ? DROP : NEED_INPUT;
        pop_command(s, line, &result);
        if (result != NEED_INPUT) return result;
    }
}

/* ------------------------------------------------------------------ sessions */

enum { P_CHUNKING, P_DATA, P_POP3, NPORTS };

static void log_session(struct sess *s, int kind)
{
    if (kind == P_POP3)
        fprintf(stats, "pop3 suite=%s curve=%s auth=%d box=%ld-%ld retr=%llu bytes=%llu wire_in=%llu wire_out=%llu quit=%d\n",
                bconn_suite(s->c), *s->c->curve ? s->c->curve : "-", s->authed, s->box_n, s->box_s,
                (unsigned long long)s->retr, (unsigned long long)s->bytes, (unsigned long long)s->c->wire_in,
                (unsigned long long)s->c->wire_out, s->quit);
    else
        fprintf(stats, "smtp port=%s suite=%s curve=%s auth=%d msgs=%llu bytes=%llu min=%llu max=%llu bdat=%llu data=%llu wire_in=%llu wire_out=%llu quit=%d\n",
                kind == P_CHUNKING ? "chunking" : "data", bconn_suite(s->c), *s->c->curve ? s->c->curve : "-",
                s->authed, (unsigned long long)s->msgs, (unsigned long long)s->bytes,
                (unsigned long long)s->min, (unsigned long long)s->max, (unsigned long long)s->bdat_msgs,
                (unsigned long long)s->data_msgs, (unsigned long long)s->c->wire_in,
                (unsigned long long)s->c->wire_out, s->quit);
    fflush(stats);
}

static void session(struct sess *s, struct btls *t, int kind)
{
    int logged = 0;
    if (kind == P_POP3) reply(s, "+OK sink ready");
    else reply(s, "220 sink.bench.invalid ESMTP ready");
    for (;;) {
        long n;
        int what = kind == P_POP3 ? pop_process(s) : smtp_process(s);
        if (what == QUIT) {
            log_session(s, kind);
            logged = 1;
            reply(s, kind == P_POP3 ? "+OK Bye" : "221 2.0.0 Bye");
            flush_out(s);
            break;
        }
        flush_out(s);
        if (what == DROP || s->out_failed) break;
        if (what == STARTTLS) {
            s->in_pos = s->in_len = 0; /* nothing may travel behind STARTTLS */
            if (bconn_tls_accept(s->c, t)) break;
            s->authed = 0;
            smtp_reset(s);
            continue;
        }
        if (s->in_pos == s->in_len) s->in_pos = s->in_len = 0;
        if (s->in_pos > 0 && (IN_CAP - s->in_len < 32 * 1024)) {
            memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
            s->in_len -= s->in_pos;
            s->in_pos = 0;
        }
        n = bconn_read(s->c, s->in + s->in_len, IN_CAP - s->in_len - 1);
        if (n <= 0) break;
        s->in_len += (size_t)n;
    }
    if (!logged) log_session(s, kind);
}

int main(int argc, char **argv)
{
    static struct bconn conn;
    static struct sess s;
    struct btls tls;
    struct pollfd pfd[NPORTS];
    int port[NPORTS], i, verbose = argc == 6 && strcmp(argv[5], "-v") == 0;
    char tmp[4096];
    FILE *f;
    if (argc != 5 && !verbose) {
        fprintf(stderr, "usage: sink CERT KEY STATS_FILE PORTS_FILE [-v]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (btls_server_init(&tls, argv[1], argv[2])) return 1;
    stats = fopen(argv[3], "a");
    if (!stats) {
        perror(argv[3]);
        return 1;
    }
    for (i = 0; i < NPORTS; i++) {
        pfd[i].fd = tcp_listen(0, &port[i]);
        pfd[i].events = POLLIN;
        if (pfd[i].fd < 0) {
            perror("sink: listen");
            return 1;
        }
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[4]);
    f = fopen(tmp, "w");
    if (!f) return 1;
    fprintf(f, "smtp_chunking=%d\nsmtp_data=%d\npop3=%d\n", port[P_CHUNKING], port[P_DATA], port[P_POP3]);
    if (fclose(f) || rename(tmp, argv[4])) return 1;
    for (;;) {
        struct timeval tv = {120, 0};
        if (poll(pfd, NPORTS, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        for (i = 0; i < NPORTS; i++) {
            int fd;
            if (!(pfd[i].revents & POLLIN)) continue;
            fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) continue;
            /* a client that stops answering cannot hold the sink for longer than this */
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            bconn_init(&conn, fd);
            free(s.body);
            memset(&s, 0, sizeof s);
            s.c = &conn;
            s.verbose = verbose;
            s.chunking = i == P_CHUNKING;
            session(&s, &tls, i);
            bconn_close(&conn);
        }
    }
}

/* bench/client_upop.c -- the upopmail client of the bench, over the public C ABI only.
 *   client_upop send  HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]
 *   client_upop pop   HOST PORT USER PASS CA COUNT
 *   client_upop login HOST PORT USER PASS CA COUNT
 * send: one SMTP session (STARTTLS + AUTH PLAIN); COUNT messages, each composed afresh
 * (upop_clear_mail, From, To, Subject, a text body of SIZE bytes, FILE as an attachment).
 * pop: one POP3 session (STLS, USER/PASS); messages 1..COUNT streamed by one upop_retrieve
 * (RETR pipelined, each message handed out in chunks from the library's read buffer).
 * login: COUNT times connect, STARTTLS, AUTH PLAIN, QUIT (one handle, the context set once).
 * The server certificate is verified against CA (the handle's JSON configuration). Prints the
 * result line of common.h (bytes: the body and file bytes sent, or the message bytes received);
 * exits 1 at the first failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <upopmail.h>

#include "common.h"

static upop *h;
static char config[256]; /* the handle's JSON configuration: the CA to trust */

static void remove_config(void) { remove(config); }

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "client_upop: %s: status %d: %s\n", what, rc, upop_last_error(h));
        exit(1);
    }
}

/* upop_retrieve's chunk callback: counts the message bytes */
static int count_bytes(void *user, int32_t msg_nr, const char *data, size_t len, int end_of_message)
{
    (void)msg_nr, (void)data, (void)end_of_message;
    *(uint64_t *)user += len;
    return 0;
}

int main(int argc, char **argv)
{
    char conn[512], auth[1024];
    const char *mode = argc > 1 ? argv[1] : "", *host, *user, *pass;
    long count, i;
    uint64_t bytes = 0;
    double t0;
    FILE *f;
    if (!((strcmp(mode, "send") == 0 && (argc == 11 || argc == 12)) ||
          ((strcmp(mode, "pop") == 0 || strcmp(mode, "login") == 0) && argc == 8))) {
        fprintf(stderr, "usage: client_upop send HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]\n"
                        "       client_upop pop|login HOST PORT USER PASS CA COUNT\n");
        return 2;
    }
    host = argv[2];
    user = argv[4];
    pass = argv[5];
    count = atol(argv[7 + 2 * (mode[0] == 's')]);
    snprintf(config, sizeof config, "/tmp/upop-bench-client.%d.json", (int)getpid());
    f = fopen(config, "w");
    if (!f) return 1;
    fprintf(f, "{\"default\": {\"ca_certificate\": \"%s\"}}\n", argv[6]);
    fclose(f);
    atexit(remove_config);
    snprintf(conn, sizeof conn, "%s+%s", host, argv[3]);
    snprintf(auth, sizeof auth, "{\"user\": \"%s\", \"password\": \"%s\"}", user, pass);

    check(upop_create(&h), "create");
    check(upop_set_option(h, "config", config), "config");
    check(upop_set_option(h, "timeout_ms", "120000"), "timeout");
    if (strcmp(mode, "pop") == 0) {
        int32_t *nrs = malloc(sizeof *nrs * (size_t)(count > 0 ? count : 1));
        if (!nrs) return 1;
        for (i = 0; i < count; i++) nrs[i] = (int32_t)(i + 1);
        check(upop_set_security(h, "POP=STARTTLS", ""), "POP=STARTTLS");
        t0 = bench_now();
        check(upop_connect(h, UPOP_POP, conn, user, pass), "connect");
        check(upop_retrieve(h, nrs, (size_t)count, 0, count_bytes, &bytes), "retrieve");
        check(upop_disconnect(h, UPOP_POP), "disconnect");
        free(nrs);
    } else {
        check(upop_set_security(h, "SMTP=STARTTLS", ""), "SMTP=STARTTLS");
        check(upop_set_security(h, "SMTP=AUTH PLAIN", auth), "SMTP=AUTH PLAIN");
        if (strcmp(mode, "login") == 0) {
            t0 = bench_now();
            for (i = 0; i < count; i++) {
                check(upop_connect(h, UPOP_SMTP, conn, "", ""), "connect");
                check(upop_disconnect(h, UPOP_SMTP), "disconnect");
            }
        } else {
            size_t size = (size_t)atol(argv[10]);
            const char *file = argc == 12 ? argv[11] : NULL;
            char *body = malloc(size + 1), subject[64];
            struct stat st;
            if (!body || (file && stat(file, &st))) return 1;
            bench_fill_lines(body, size);
            body[size] = '\0';
            t0 = bench_now();
            check(upop_connect(h, UPOP_SMTP, conn, "", ""), "connect");
            for (i = 0; i < count; i++) {
                snprintf(subject, sizeof subject, "bench message %ld", i + 1);
                check(upop_clear_mail(h), "clear_mail");
                check(upop_set_from(h, argv[7]), "set_from");
                check(upop_set_to_list(h, argv[8]), "set_to_list");
                check(upop_set_subject(h, subject), "set_subject");
                check(upop_set_message(h, body, ""), "set_message");
                if (file) check(upop_add_attachment_from_file(h, file, ""), "add_attachment");
                check(upop_send(h, ""), "send");
                bytes += size + (file ? (uint64_t)st.st_size : 0);
            }
            check(upop_disconnect(h, UPOP_SMTP), "disconnect");
            free(body);
        }
    }
    bench_result(count, bytes, bench_now() - t0);
    upop_destroy(h);
    return 0;
}

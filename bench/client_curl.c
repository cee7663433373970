/* bench/client_curl.c -- the libcurl client of the bench: one easy handle for the whole
 * workload, so that its connection is reused from one transfer to the next.
 *   client_curl send  HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]
 *   client_curl pop   HOST PORT USER PASS CA COUNT
 *   client_curl login HOST PORT USER PASS CA COUNT
 *   client_curl --mime send ... FILE
 * send: smtp://HOST:PORT with CURLOPT_USE_SSL (STARTTLS), AUTH PLAIN with its initial
 * response; per message the RFC 5322 text (header fields and a text body of SIZE bytes) built
 * in memory and uploaded through a read callback. With FILE, one message with a text part and
 * FILE in base64, composed as libcurl reads it (attach.h, 57 KiB of the file at a time); with
 * --mime, composed by libcurl's own curl_mime instead (curl_mime_filedata, base64 encoder:
 * libcurl 7.88 then reads 256 bytes of the file per read callback, ~350 bytes per TLS record).
 * pop: pop3://HOST:PORT/N for N = 1..COUNT (STLS, USER/PASS), bytes counted by the write callback.
 * login: COUNT transfers on fresh connections (connect, STARTTLS, AUTH PLAIN, NOOP, QUIT): the
 * NOOP is the request of the transfer, CURLOPT_FORBID_REUSE closes the connection with QUIT.
 * The server certificate is verified against CA. Prints the result line of common.h; exits 1
 * at the first failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "attach.h"
#include "common.h"

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *user)
{
    struct upload *u = user;
    size_t len = size * n;
    if (len > u->len - u->pos) len = u->len - u->pos;
    memcpy(buf, u->data + u->pos, len);
    u->pos += len;
    return len;
}

static size_t attach_cb(char *buf, size_t size, size_t n, void *user)
{
    return bench_attach_read(user, buf, size * n);
}

static size_t count_cb(char *buf, size_t size, size_t n, void *user)
{
    (void)buf;
    *(uint64_t *)user += size * n;
    return size * n;
}

static void perform(CURL *c, const char *what)
{
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "client_curl: %s: %s\n", what, curl_easy_strerror(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int mime = argc > 1 && strcmp(argv[1], "--mime") == 0;
    const char *mode;
    char url[512];
    long count, i;
    uint64_t bytes = 0;
    double t0;
    CURL *c;
    argc -= mime;
    argv += mime;
    mode = argc > 1 ? argv[1] : "";
    if (!((strcmp(mode, "send") == 0 && (argc == 11 || argc == 12)) ||
          ((strcmp(mode, "pop") == 0 || strcmp(mode, "login") == 0) && argc == 8)) ||
        (mime && argc != 12)) {
        fprintf(stderr, "usage: client_curl [--mime] send HOST PORT USER PASS CA FROM TO COUNT SIZE [FILE]\n"
                        "       client_curl pop|login HOST PORT USER PASS CA COUNT\n");
        return 2;
    }
    count = atol(argv[7 + 2 * (mode[0] == 's')]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    if (!c) return 1;
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    curl_easy_setopt(c, CURLOPT_CAINFO, argv[6]);
    curl_easy_setopt(c, CURLOPT_USERNAME, argv[4]);
    curl_easy_setopt(c, CURLOPT_PASSWORD, argv[5]);

    if (strcmp(mode, "pop") == 0) {
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
        t0 = bench_now();
        for (i = 1; i <= count; i++) {
            snprintf(url, sizeof url, "pop3://%s:%s/%ld", argv[2], argv[3], i);
            curl_easy_setopt(c, CURLOPT_URL, url);
            perform(c, "RETR");
        }
    } else {
        uint64_t discard = 0;
        snprintf(url, sizeof url, "smtp://%s:%s", argv[2], argv[3]);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, "AUTH=PLAIN");
        curl_easy_setopt(c, CURLOPT_SASL_IR, 1L);
        if (strcmp(mode, "login") == 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
            curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_cb);
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &discard);
            t0 = bench_now();
            for (i = 0; i < count; i++) perform(c, "login");
        } else {
            size_t size = (size_t)atol(argv[10]);
            const char *from = argv[7], *to = argv[8], *file = argc == 12 ? argv[11] : NULL;
            char from_path[1100], to_path[1100];
            struct curl_slist *rcpt;
            snprintf(from_path, sizeof from_path, "<%s>", from);
            snprintf(to_path, sizeof to_path, "<%s>", to);
            rcpt = curl_slist_append(NULL, to_path);
            curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_path);
            curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
            if (file && !mime) {
                /* one message: header fields, a text part and the file, composed as read */
                static struct bench_attach a;
                char *text = malloc(size);
                struct stat st;
                if (!text || stat(file, &st)) return 1;
                bench_fill_lines(text, size);
                t0 = bench_now();
                if (bench_attach_open(&a, file, from, to, text, size)) return 1;
                curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, attach_cb);
                curl_easy_setopt(c, CURLOPT_READDATA, &a);
                perform(c, "send");
                bytes = size + (uint64_t)st.st_size;
                free(text);
            } else if (file) {
                /* one message: header fields, a text part and the file, base64 by libcurl */
                char *text = malloc(size + 1), subject[128], sender[1100], recipient[1100];
                struct curl_slist *headers = NULL;
                curl_mime *mime;
                curl_mimepart *part;
                struct stat st;
                if (!text || stat(file, &st)) return 1;
                bench_fill_lines(text, size);
                text[size] = '\0';
                t0 = bench_now();
                snprintf(subject, sizeof subject, "Subject: bench message 1");
                snprintf(sender, sizeof sender, "From: %s", from);
                snprintf(recipient, sizeof recipient, "To: %s", to);
                headers = curl_slist_append(headers, sender);
                headers = curl_slist_append(headers, recipient);
                headers = curl_slist_append(headers, subject);
                mime = curl_mime_init(c);
                part = curl_mime_addpart(mime);
                curl_mime_data(part, text, size);
                curl_mime_type(part, "text/plain; charset=us-ascii");
                part = curl_mime_addpart(mime);
                curl_mime_filedata(part, file);
                curl_mime_type(part, "application/octet-stream");
                curl_mime_encoder(part, "base64");
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
                curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
                perform(c, "send");
                bytes = size + (uint64_t)st.st_size;
                curl_mime_free(mime);
                curl_slist_free_all(headers);
                free(text);
            } else {
                static const char fmt[] = "From: %s\r\nTo: %s\r\nSubject: bench message %ld\r\n"
                                          "Message-ID: <%ld.%d@client-curl.bench.invalid>\r\n"
                                          "MIME-Version: 1.0\r\n"
                                          "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
                size_t cap = size + sizeof fmt + 2 * strlen(from) + 2 * strlen(to) + 64;
                char *msg = malloc(cap), *body = malloc(size);
                struct upload up;
                if (!msg || !body) return 1;
                bench_fill_lines(body, size);
                curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
                curl_easy_setopt(c, CURLOPT_READDATA, &up);
                t0 = bench_now();
                for (i = 0; i < count; i++) {
                    int head = snprintf(msg, cap, fmt, from, to, i + 1, i + 1, (int)getpid());
                    memcpy(msg + head, body, size);
                    up.data = msg;
                    up.len = (size_t)head + size;
                    up.pos = 0;
                    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
                    perform(c, "send");
                    bytes += size;
                }
                free(msg);
                free(body);
            }
            curl_slist_free_all(rcpt);
        }
    }
    curl_easy_cleanup(c); /* QUIT on the connection still open */
    bench_result(count, bytes, bench_now() - t0);
    curl_global_cleanup();
    return 0;
}

/* bench/attach.h -- the W3 message (a text part and a file in base64) as the bench's own C
 * clients compose it: read piece by piece, the file encoded block-wise as it is read, so that
 * memory stays flat whatever the file's size. limit.c sends it in BDAT chunks or after DATA;
 * client_curl.c gives it to libcurl through its read callback. */
#ifndef BENCH_ATTACH_H
#define BENCH_ATTACH_H

#include <stdio.h>
#include <string.h>

#define BENCH_RAW_BLOCK (57 * 1024) /* 1024 base64 lines of 76 characters */

struct bench_attach {
    FILE *file;
    char head[2048];
    const char *piece; /* what is left of the current piece */
    size_t left;
    int stage; /* 0 head, 1 text, 2 part header, 3 file, 4 end, 5 done */
    const char *text;
    size_t text_len;
    unsigned char raw[BENCH_RAW_BLOCK];
    char enc[BENCH_RAW_BLOCK / 57 * 78];
};

/* base64 of src in 76-character CRLF lines (each line 57 bytes of src, the last maybe fewer)
 * into dst; returns the length */
static inline size_t bench_base64_lines(const unsigned char *src, size_t n, char *dst)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *d = dst;
    size_t i = 0;
    while (i < n) {
        size_t end = i + 57 < n ? i + 57 : n;
        for (; i + 3 <= end; i += 3) {
            unsigned v = (unsigned)src[i] << 16 | (unsigned)src[i + 1] << 8 | src[i + 2];
            *d++ = abc[v >> 18];
            *d++ = abc[v >> 12 & 63];
            *d++ = abc[v >> 6 & 63];
            *d++ = abc[v & 63];
        }
        if (i < end) {
            unsigned v = (unsigned)src[i] << 16 | (i + 1 < end ? (unsigned)src[i + 1] << 8 : 0);
            *d++ = abc[v >> 18];
            *d++ = abc[v >> 12 & 63];
            *d++ = i + 1 < end ? abc[v >> 6 & 63] : '=';
            *d++ = '=';
            i = end;
        }
        *d++ = '\r';
        *d++ = '\n';
    }
    return (size_t)(d - dst);
}

/* Opens path; the message goes From/To with the text of text_len bytes first. 0 or -1. */
static inline int bench_attach_open(struct bench_attach *a, const char *path, const char *from, const char *to,
                                    const char *text, size_t text_len)
{
    int n = snprintf(a->head, sizeof a->head,
                     "From: %s\r\nTo: %s\r\nSubject: bench message 1\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed; boundary=\"=bench=\"\r\n\r\n"
                     "--=bench=\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
                     from, to);
    a->file = fopen(path, "rb");
    if (!a->file || n < 0 || (size_t)n >= sizeof a->head) return -1;
    a->piece = a->head;
    a->left = (size_t)n;
    a->stage = 0;
    a->text = text;
    a->text_len = text_len;
    return 0;
}

/* The next bytes of the message, up to cap; 0 at its end (or when the file cannot be read). */
static inline size_t bench_attach_read(struct bench_attach *a, char *out, size_t cap)
{
    static const char part[] = "\r\n--=bench=\r\nContent-Type: application/octet-stream\r\n"
                               "Content-Transfer-Encoding: base64\r\n"
                               "Content-Disposition: attachment; filename=\"bench.bin\"\r\n\r\n";
    static const char end[] = "--=bench=--\r\n";
    size_t done = 0;
    while (done < cap && a->stage < 5) {
        size_t n;
        if (a->left == 0) { /* the next piece */
            if (a->stage == 0) {
                a->stage = 1, a->piece = a->text, a->left = a->text_len;
            } else if (a->stage == 1) {
                a->stage = 2, a->piece = part, a->left = sizeof part - 1;
            } else if (a->stage == 2 || a->stage == 3) {
                n = fread(a->raw, 1, sizeof a->raw, a->file);
                if (n > 0) {
                    a->stage = 3, a->piece = a->enc, a->left = bench_base64_lines(a->raw, n, a->enc);
                } else {
                    fclose(a->file);
                    a->file = NULL;
                    a->stage = 4, a->piece = end, a->left = sizeof end - 1;
                }
            } else {
                a->stage = 5;
            }
            continue;
        }
        n = a->left < cap - done ? a->left : cap - done;
        memcpy(out + done, a->piece, n);
        a->piece += n;
        a->left -= n;
        done += n;
    }
    return done;
}

/* 1 once every byte was read */
static inline int bench_attach_done(const struct bench_attach *a) { return a->stage == 5 || (a->stage == 4 && a->left == 0); }

#endif

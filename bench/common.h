/* bench/common.h -- what every C program of the bench shares: the clock, the message text (the
 * same in every client and in the sink's mailbox; client_py.py has the Python twin) and the
 * one result line that bench/drive.py reads from each client. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* the fixed body line: 76 characters and CRLF */
#define BENCH_LINE "The quick brown fox jumps over the lazy dog; 0123456789 abcdefghijklmnopqrst"
#define BENCH_LINE_LEN 78

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Exactly n (>= 2) bytes of CRLF lines of BENCH_LINE: whole lines, then the rest as one shorter
 * line; a rest of 1 byte lengthens the last whole line by one character instead. No line starts
 * with a dot. */
static inline void bench_fill_lines(char *buf, size_t n)
{
    size_t full = n / BENCH_LINE_LEN, rest = n % BENCH_LINE_LEN, i;
    char *p = buf;
    for (i = 0; i < full; i++) {
        size_t len = BENCH_LINE_LEN - 2 + (rest == 1 && i + 1 == full);
        memcpy(p, BENCH_LINE "x", len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    if (rest >= 2) {
        memcpy(p, BENCH_LINE, rest - 2);
        p += rest - 2;
        *p++ = '\r';
        *p++ = '\n';
    }
}

/* Scans part of a dot-terminated body (SMTP DATA, a POP3 multi-line reply): counts its bytes
 * without the stuffing dots and without the end line. Returns how much of p it consumed; sets
 * *done once the end line is consumed. It leaves up to 2 bytes when it cannot tell yet whether
 * a line is the end line: call again with them and what follows. *at_bol starts at 1. */
static inline size_t bench_dot_scan(const char *p, size_t n, int *at_bol, uint64_t *count, int *done)
{
    const char *start = p, *end = p + n, *nl;
    *done = 0;
    while (p < end) {
        if (*at_bol && p[0] == '.') {
            if (end - p < 2 || (p[1] == '\r' && end - p < 3)) break; /* need the line's end */
            if (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n')) {
                p += p[1] == '\n' ? 2 : 3;
                *done = 1;
                break;
            }
            p++; /* a stuffing dot */
        }
        nl = memchr(p, '\n', (size_t)(end - p));
        *at_bol = nl != NULL;
        nl = nl ? nl + 1 : end;
        *count += (uint64_t)(nl - p);
        p = nl;
    }
    return (size_t)(p - start);
}

/* The result line of a client: messages, payload bytes and the seconds of the workload. */
static inline void bench_result(long msgs, uint64_t bytes, double seconds)
{
    printf("result msgs=%ld bytes=%llu seconds=%.6f\n", msgs, (unsigned long long)bytes, seconds);
    fflush(stdout);
}

#endif
